"""The authenticators of the federation protocol, one module each, listed in `registry.py`.

Each implements `base.Authenticator`: credentials in, an `Identity` out or a `Refusal` raised.
"""
