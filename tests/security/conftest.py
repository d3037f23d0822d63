"""The security tests go through the gateway of the e2e stack, as an attacker would (its
builders, `call` and `signup`, are in tests/factories.py)."""
