"""Gas for accounts onboarded on a development chain: the managed local node's set-balance call.

A custodial participant created after the stack started (``passport admin participant create
--custodial``, ``POST /api/v1/participants``) holds no ether, so it could not send the transactions its
role needs (accepting custody, say). On the managed development node the balance is simply set, as the
stack does for its own participants at start-up; anywhere else the operator funds the account, and this
module does nothing.
"""

from __future__ import annotations

import logging
from typing import Final

from passport.chain.jsonrpc import json_rpc
from passport.errors import ChainError
from passport.settings import Settings

log = logging.getLogger(__name__)

#: The balance a funded development account gets, and the level below which it is topped up (wei).
FUNDING_WEI: Final = 1_000 * 10**18
MINIMUM_WEI: Final = 100 * 10**18

_SET_BALANCE: Final = {"ganache": "evm_setAccountBalance", "anvil": "anvil_setBalance"}


def fund_in_development(settings: Settings, address: str) -> bool:
    """Top ``address`` up on the managed local development node; True if it was funded.

    Does nothing (False) outside development or when ``rpc_url`` names another node. Raises
    ``ChainError`` when the node refuses.
    """
    if not settings.is_development or settings.rpc_url not in (None, settings.local_rpc_url):
        return False
    url = settings.effective_rpc_url
    if int(json_rpc(url, "eth_getBalance", [address, "latest"]), 16) >= MINIMUM_WEI:
        return False
    try:
        json_rpc(url, _SET_BALANCE[settings.local_chain], [address, hex(FUNDING_WEI)])
    except ChainError as exc:
        raise ChainError(f"cannot fund {address} on the development node: {exc}") from exc
    log.info("funded %s with %d wei on the development node", address, FUNDING_WEI)
    return True
