"""Local mock AI providers that speak every wire family, for tests, benchmarks and the demo.

    with MockProviders() as mock:
        client = OpenAI(base_url=mock.base_url("openai"), api_key="sk-FAKE")
        ...
        mock.calls[-1]  # the truth: model, usage, faults, timing

Each vendor listens on its own loopback port. Knobs (delays, faults) are set per server with
`configure` or per request with `x-mock-<knob>` headers; a model name is only ever a model name.

How to read a `ServedCall` (one per HTTP request, retries and faults included):
- `usage` is normalised inclusive (input counts cache reads and writes, output counts reasoning)
  and is what the wire carried up to where the answer stopped: None when no usage was sent (a
  stream without `include_usage`, an HTTP error, a non-streamed in-200 error); for a broken
  stream, the last usage sent before the break (e.g. Anthropic's `message_start`). `wire_usage`
  is the last usage object exactly as sent.
- `finish_reason` is the wire's own value (`stop`, `end_turn`, `STOP`, `COMPLETE`, and for the
  Responses API its `status`), None when the finishing event was never sent.
- `http_status` is 0 when the connection was reset before any response; `fault` is the fault
  applied (None on success, also for the try that `fail_times` lets through), or
  `fail_models` when every model of a gateway's fallback chain failed.
- `response_model` is None where the wire names no model (Cohere, images).
- A gateway's `request_model` is the first model asked for; `response_model` and `provider`
  describe the model that served, `served_by` the upstream the gateway says served it, `byok`
  whether it served with the caller's own provider key; `reported_cost_usd` is what a client
  should report (under BYOK the market cost, not the gateway's "0").
"""

from modelmeter.mock.calls import MockUsage, ServedCall
from modelmeter.mock.knobs import FAULTS, KNOB_HELP, Knobs
from modelmeter.mock.server import MockProviders

__all__ = ["FAULTS", "KNOB_HELP", "Knobs", "MockProviders", "MockUsage", "ServedCall"]
