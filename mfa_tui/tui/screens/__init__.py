"""The dashboard's modal screens: help, MFA prompt, TOTP setup, export lines."""
