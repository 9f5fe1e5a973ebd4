"""Training the reply writer: pairs (plan → reply), LoRA fine-tuning, held-out evaluation."""
