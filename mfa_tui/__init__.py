"""mfa-tui: keeps MFA-protected AWS sessions fresh from one terminal dashboard."""

__version__ = "0.1.0"
