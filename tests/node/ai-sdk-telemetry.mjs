// Runs the Vercel AI SDK with telemetry on against modelmeter.mock and exports its spans over OTLP/HTTP.
//
//   node ai-sdk-telemetry.mjs --openai http://127.0.0.1:P/v1 --anthropic http://127.0.0.1:R/v1 \
//     --otlp http://127.0.0.1:Q/v1/traces
//
// The AI SDK traces through the global OpenTelemetry tracer ("ai" scope), as in a real app that
// registers a NodeTracerProvider. OpenAI: generateText (plain model) and streamText (reasoning model,
// so the mock reports reasoning tokens), with a prompt long enough for the mock's implicit caching.
// Anthropic: generateText with a cache-marked system prompt (a cache write), then streamText with the
// same prompt (a cache read). Prints one JSON line per call (what the app saw) for cross-checks.
import { parseArgs } from "node:util";

import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { generateText, streamText } from "ai";

const { values: args } = parseArgs({
  options: {
    openai: { type: "string" },
    anthropic: { type: "string" },
    otlp: { type: "string" },
    workflow: { type: "string", default: "weekly-summary" },
  },
});
if (!args.openai || !args.anthropic || !args.otlp) {
  console.error(
    "usage: node ai-sdk-telemetry.mjs --openai BASE_URL --anthropic BASE_URL --otlp TRACES_URL [--workflow NAME]",
  );
  process.exit(2);
}

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ "service.name": "ai-sdk-capture" }),
  spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: args.otlp }))],
});
provider.register();

const openai = createOpenAI({
  baseURL: args.openai,
  apiKey: "sk-proj-FAKE0000000000000000000000000000000000000000",
});
const anthropic = createAnthropic({
  baseURL: args.anthropic,
  apiKey: "sk-ant-api03-FAKE00000000000000000000000000000000000000",
});
const prompt = "zanzibar-content-marker " + "Summarise the quarterly spend by team and model. ".repeat(90);
const telemetry = {
  isEnabled: true,
  functionId: args.workflow,
  metadata: { team: "finance" },
};

const generated = await generateText({
  model: openai.chat("gpt-4o-mini"),
  prompt,
  maxRetries: 0,
  experimental_telemetry: telemetry,
});
console.log(JSON.stringify({ call: "generateText", usage: generated.usage }));

const streamed = streamText({
  model: openai.chat("o4-mini"),
  prompt,
  maxRetries: 0,
  experimental_telemetry: telemetry,
});
for await (const _part of streamed.textStream) {
  // drain the stream, as an app would
}
console.log(JSON.stringify({ call: "streamText", usage: await streamed.usage }));

const cachedMessages = [
  { role: "system", content: prompt, providerOptions: { anthropic: { cacheControl: { type: "ephemeral" } } } },
  { role: "user", content: "Which team spent most?" },
];
const written = await generateText({
  model: anthropic("claude-sonnet-4-5"),
  messages: cachedMessages,
  allowSystemInMessages: true, // the system message carries Anthropic's cache marker
  maxRetries: 0,
  experimental_telemetry: telemetry,
});
console.log(JSON.stringify({ call: "generateText", usage: written.usage }));

const read = streamText({
  model: anthropic("claude-sonnet-4-5"),
  messages: cachedMessages,
  allowSystemInMessages: true, // the system message carries Anthropic's cache marker
  maxRetries: 0,
  experimental_telemetry: telemetry,
});
for await (const _part of read.textStream) {
  // drain the stream
}
console.log(JSON.stringify({ call: "streamText", usage: await read.usage }));

await provider.forceFlush();
await provider.shutdown();
