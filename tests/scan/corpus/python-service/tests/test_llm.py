from unittest import mock

from openai import OpenAI


def test_classify_uses_the_cheap_model():
    with mock.patch.object(OpenAI, "chat") as chat:
        chat.completions.create.return_value.model = "gpt-4o"
        assert chat is not None
