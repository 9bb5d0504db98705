from acme_llm_kit.client import Chat

__all__ = ["Chat"]
