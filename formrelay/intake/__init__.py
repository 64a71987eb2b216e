"""Intake: turning a signed request body into an accepted submission."""
