"""LTI 1.3 Advantage: login and launch validation, the tool's keys, deep-linking responses, calls to
the platform (tokens, AGS line items and scores, NRPS) and the durable score queue.

Below the service layer (like :mod:`nbcred.mail`): the front ends reach it through
:mod:`nbcred.service.lti`.
"""

from nbcred.lti.errors import LaunchRefused, LtiError, PlatformCallFailed, RegistrationError

__all__ = ["LaunchRefused", "LtiError", "PlatformCallFailed", "RegistrationError"]
