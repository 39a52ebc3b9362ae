// Package llm calls OpenAI-compatible chat completion servers: OpenAI, Azure OpenAI, Ollama,
// vLLM and llama.cpp. It is a client only; the enrichment engine decides what to ask.
//
// Generate asks for JSON that matches a client-supplied JSON Schema (response_format
// json_schema, strict), validates the answer locally with santhosh-tekuri/jsonschema, and
// gives the model one repair turn when the answer is invalid. Chat returns free text.
// CompileSchema vets a schema before a job is accepted, and Fence plus DataInstructions keep
// untrusted text (web pages, CRM records) apart from instructions in prompts.
//
// Errors: configuration problems are *ConfigError (ErrNotConfigured names the empty setting);
// service failures are *APIError, classified by Kind so callers can tell rate limits
// (RetryAfter), bad keys, missing models, exhausted quotas and outages apart. Usage is
// reported even when a call fails after the server answered, so tokens can be billed.
//
// Wire formats followed:
//   - https://platform.openai.com/docs/api-reference/chat/create and /chat/object
//   - https://platform.openai.com/docs/guides/structured-outputs (json_schema, strict, refusal)
//   - https://learn.microsoft.com/azure/ai-services/openai/how-to/structured-outputs
//     (POST {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=..., api-key header)
//   - https://docs.ollama.com/api/openai-compatibility (key optional, response_format supported)
package llm
