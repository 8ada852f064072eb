"""Escalation: policies (pure), the ledger of steps, the timer and notification delivery.

Platform-neutral: delivers through the ``Sender`` port; never imports a chat SDK.
"""
