"""Attribute names: the OpenTelemetry GenAI conventions we emit and read, plus our own `modelmeter.*`.

One module so that no attribute name is spelled twice. The GenAI conventions are still in development
and moved names in 2025: the `*_DEPRECATED` / alternative names are what older or foreign
instrumentations write, and ingest accepts them. `COLUMN_OF` maps our own span attributes to
columns of the `calls` table; the spool exporter and the ingest mapping for our own spans both use it.
"""

from __future__ import annotations

# --- OpenTelemetry GenAI (client inference span) ---------------------------------------------
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_SYSTEM = "gen_ai.system"  # deprecated name of gen_ai.provider.name
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_STREAM = "gen_ai.request.stream"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"  # seconds
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS = "gen_ai.usage.cache_write.input_tokens"  # anthropic SDK, next semconv
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_USAGE_COST = "gen_ai.usage.cost"  # OpenLIT's name, read by Langfuse
GEN_AI_WORKFLOW_NAME = "gen_ai.workflow.name"
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
ERROR_TYPE = "error.type"
SERVICE_NAME = "service.name"  # resource
DEPLOYMENT_ENVIRONMENT = "deployment.environment"  # resource; also deployment.environment.name
DEPLOYMENT_ENVIRONMENT_NAME = "deployment.environment.name"

# --- modelmeter.* -----------------------------------------------------------------------------
MM_ROUTE = "modelmeter.route"  # direct | gateway
MM_GATEWAY = "modelmeter.gateway"  # vercel | openrouter | litellm | portkey | cloudflare | helicone | custom
MM_PROVIDER = "modelmeter.provider"  # model vendor in gateway naming: openai, anthropic, google, ...
MM_PLATFORM = "modelmeter.platform"  # who served it: openai, azure, aws.bedrock, groq, ...
MM_MODEL = "modelmeter.model"  # canonical provider/name
MM_WIRE_FAMILY = "modelmeter.wire_family"  # openai.chat, openai.responses, anthropic.messages, gemini, ...
MM_STATUS = "modelmeter.status"  # ok | error
MM_TRUNCATED = "modelmeter.truncated"
MM_USAGE_KNOWN = "modelmeter.usage_known"
MM_INPUT_TOKENS = "modelmeter.usage.input_tokens"  # inclusive of cache read and write
MM_OUTPUT_TOKENS = "modelmeter.usage.output_tokens"  # inclusive of reasoning
MM_CACHE_READ_TOKENS = "modelmeter.usage.cache_read_tokens"
MM_CACHE_WRITE_TOKENS = "modelmeter.usage.cache_write_tokens"
MM_REASONING_TOKENS = "modelmeter.usage.reasoning_tokens"
MM_TTFT_MS = "modelmeter.ttft_ms"
MM_DURATION_MS = "modelmeter.duration_ms"
MM_FINISH_REASON = "modelmeter.finish_reason"
MM_COST_USD = "modelmeter.cost_usd"
MM_COST_SOURCE = "modelmeter.cost_source"  # genai-prices | override | unpriced
MM_REPORTED_COST_USD = "modelmeter.reported_cost_usd"
MM_REPORTED_COST_SOURCE = "modelmeter.reported_cost_source"  # e.g. openrouter.usage.cost
MM_SERVICE_TIER = "modelmeter.service_tier"
MM_KEY_FINGERPRINT = "modelmeter.key.fingerprint"
MM_AUTH_KIND = "modelmeter.key.auth_kind"
MM_SDK = "modelmeter.sdk.name"
MM_SDK_VERSION = "modelmeter.sdk.version"
MM_REQUEST_ID = "modelmeter.request_id"
MM_CALL_ID = "modelmeter.call.id"  # one logical call: the same for all its retries
MM_ATTEMPT = "modelmeter.attempt"  # 0 for the first try (x-stainless-retry-count or our own count)
MM_FALLBACK_FROM = "modelmeter.fallback_from"
MM_PARSE_ERROR = "modelmeter.parse_error"
MM_WORKFLOW = "modelmeter.workflow"
MM_TEAM = "modelmeter.team"
MM_TIER = "modelmeter.tier"
MM_RUN = "modelmeter.run"
MM_TAG_PREFIX = "modelmeter.tag."  # extra tags: modelmeter.tag.<key>
MM_RATELIMIT_PREFIX = "modelmeter.ratelimit."  # modelmeter.ratelimit.<header name>
MM_GATEWAY_ATTEMPTS = "modelmeter.gateway.attempts"  # JSON list of a gateway's routing attempts
MM_GATEWAY_FIRST_CHOICE = "modelmeter.gateway.first_choice"  # provider a gateway tried first
MM_BATCH = "modelmeter.batch"  # true when the call ran in a provider batch job (batch prices)
MM_ERROR_CODE = "modelmeter.error.code"  # the vendor's own error type/code, next to error.type
MM_END = "modelmeter.end"  # how the body ended when not read to its end: closed | abandoned | error | failed
MM_KEY_CLAIM_PREFIX = "modelmeter.key."  # non-secret JWT claims: modelmeter.key.owner, .project, ...
MM_CAPTURE_TRUNCATED = "modelmeter.capture_truncated"  # captured content was cut at the size cap
# usage beyond the columns (in the record's `attributes`)
MM_USAGE_STEPS = "modelmeter.usage.steps"  # JSON list: each sampling step of a multi-step request
MM_COMPACTION_INPUT_TOKENS = "modelmeter.usage.compaction.input_tokens"  # compaction steps' share
MM_COMPACTION_OUTPUT_TOKENS = "modelmeter.usage.compaction.output_tokens"
MM_COMPACTION_COST_USD = "modelmeter.usage.compaction.cost_usd"  # their share of cost_usd
MM_TOOL_USE_PROMPT_TOKENS = "modelmeter.usage.tool_use_prompt_tokens"  # Gemini; part of input_tokens
MM_SERVER_TOOL_PREFIX = "modelmeter.usage.server_tool."  # + the vendor's count name: web_search_requests
MM_COST_FEES_USD = "modelmeter.cost.fees_usd"  # the per-request fees inside cost_usd (web search, ...)
MM_COST_EXCLUDES = "modelmeter.cost.excludes"  # per-request fees the estimate leaves out (comma list)
MM_GATEWAY_GENERATION_ID = "modelmeter.gateway.generation_id"  # the gateway's id for a later lookup
MM_GATEWAY_BYOK = "modelmeter.gateway.byok"  # true: the gateway used the team's own provider key
MM_GATEWAY_BILLED_USD = "modelmeter.gateway.billed_usd"  # what the gateway itself debited ("0" under BYOK)
MM_GATEWAY_MARKET_COST_USD = "modelmeter.gateway.market_cost_usd"  # the gateway's list-price cost
MM_ROUTE_NOTE = "modelmeter.route_note"  # why the route is what it is when host and key disagree

INSTRUMENTATION_SCOPE = "modelmeter"

# Our own span attribute -> `calls` column (the exporter writes these columns directly).
COLUMN_OF: dict[str, str] = {
    GEN_AI_OPERATION_NAME: "operation",
    GEN_AI_REQUEST_MODEL: "request_model",
    GEN_AI_RESPONSE_MODEL: "response_model",
    GEN_AI_RESPONSE_ID: "response_id",
    GEN_AI_REQUEST_STREAM: "streaming",
    HTTP_RESPONSE_STATUS_CODE: "http_status",
    ERROR_TYPE: "error_type",
    SERVER_ADDRESS: "server_address",
    MM_ROUTE: "route",
    MM_GATEWAY: "gateway",
    MM_PROVIDER: "provider",
    MM_PLATFORM: "platform",
    MM_MODEL: "model",
    MM_STATUS: "status",
    MM_TRUNCATED: "truncated",
    MM_USAGE_KNOWN: "usage_known",
    MM_INPUT_TOKENS: "input_tokens",
    MM_OUTPUT_TOKENS: "output_tokens",
    MM_CACHE_READ_TOKENS: "cache_read_tokens",
    MM_CACHE_WRITE_TOKENS: "cache_write_tokens",
    MM_REASONING_TOKENS: "reasoning_tokens",
    MM_TTFT_MS: "ttft_ms",
    MM_DURATION_MS: "duration_ms",
    MM_FINISH_REASON: "finish_reason",
    MM_COST_USD: "cost_usd",
    MM_COST_SOURCE: "cost_source",
    MM_REPORTED_COST_USD: "reported_cost_usd",
    MM_REPORTED_COST_SOURCE: "reported_cost_source",
    MM_SERVICE_TIER: "service_tier",
    MM_KEY_FINGERPRINT: "key_fingerprint",
    MM_AUTH_KIND: "auth_kind",
    MM_SDK: "sdk",
    MM_SDK_VERSION: "sdk_version",
    MM_REQUEST_ID: "request_id",
    MM_CALL_ID: "call_id",
    MM_ATTEMPT: "attempt",
    MM_FALLBACK_FROM: "fallback_from",
    MM_WORKFLOW: "workflow",
    MM_TEAM: "team",
    MM_TIER: "tier",
    MM_RUN: "run",
}


# Convention attributes our spans carry as copies of a value that COLUMN_OF already maps to a column
# (call.py and tags.py set each pair from one value; the cost copy is the column's decimal as a float). They
# are on the span for other OpenTelemetry consumers; the spool record leaves them out.
REPEATS_OF_COLUMNS: frozenset[str] = frozenset(
    {
        GEN_AI_USAGE_INPUT_TOKENS,
        GEN_AI_USAGE_OUTPUT_TOKENS,
        GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
        GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
        GEN_AI_USAGE_COST,
        GEN_AI_RESPONSE_FINISH_REASONS,
        GEN_AI_WORKFLOW_NAME,
    }
)
