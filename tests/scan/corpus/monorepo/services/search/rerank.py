import os

from groq import Groq
from openai import OpenAI

fast = Groq(api_key=os.environ["GROQ_API_KEY"])
router = OpenAI(base_url=os.environ["OPENROUTER_BASE_URL"], api_key=os.environ["OPENROUTER_API_KEY"])


def rerank(query: str, documents: list[str]) -> list[str]:
    fast.chat.completions.create(model="llama-3.1-8b-instant", messages=[{"role": "user", "content": query}])
    router.chat.completions.create(model="deepseek/deepseek-chat", messages=[{"role": "user", "content": query}])
    return documents
