"""Fake identity providers: an Okta org and PingOne, over TLS from their own CAs.

One listener per provider serves every issuer of that provider, one path (Okta authorization
servers) or host and path (PingOne environments per region) each, as the common mock OAuth2
servers do. `IdentityProviders` starts and stops them and answers where a host name lives.
"""

from mockserver.idp.group import IdentityProviders, default_providers
from mockserver.idp.provider import FakeIdentityProvider
from mockserver.idp.servers import AuthorizationServer

__all__ = [
    "AuthorizationServer",
    "FakeIdentityProvider",
    "IdentityProviders",
    "default_providers",
]
