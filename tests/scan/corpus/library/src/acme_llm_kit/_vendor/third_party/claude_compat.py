# Vendored from an old helper package (MIT). Not used by default.
import anthropic

MODEL = "claude-3-opus-20240229"
client = anthropic.Anthropic()
