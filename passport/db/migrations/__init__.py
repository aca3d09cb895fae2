"""Versioned SQL per component (``<component>/NNNN_name.<dialect>.sql``), applied by ``passport.db``."""
