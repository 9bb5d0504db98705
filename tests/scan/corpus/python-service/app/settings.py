import os

OPENAI_API_KEY = os.environ["OPENAI_API_KEY"]
ANTHROPIC_API_KEY = os.environ.get("ANTHROPIC_API_KEY")
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://localhost/triage")
SESSION_SECRET = os.environ["SESSION_SECRET"]
SENTRY_DSN = os.environ.get("SENTRY_DSN")
