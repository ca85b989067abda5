"""Provider implementations, one module each: ``none``, ``openai``, ``bedrock``."""
