"""kefu.safety: guardrails-ai validators and guards for what comes in and what goes out."""
