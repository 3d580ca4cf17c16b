"""Gemini API adapter: canonical request -> `models/{model}:generateContent`, answers and errors back.

Mapping decisions (documented in docs/providers.md):
- system and developer messages become `systemInstruction`; assistant turns are role `model`;
  tool results are `functionResponse` parts of a user turn (the function name is looked up from
  the assistant turn that called it); consecutive turns of one role merge;
- image URLs: data URLs become `inlineData`, other URLs `fileData` (Gemini must be able to
  fetch them: Files API, gs:// or a public URL on models that allow it);
- JSON Schemas (tool parameters, response_format) are rewritten to Gemini's Schema subset;
- Gemini 3 models return a `thoughtSignature` with a function call and require it back on the
  next turn; OpenAI has no field for it, so it travels inside the tool call id (see
  `gemini_api.with_signature`), which every client echoes unchanged.
"""

from __future__ import annotations

import array
import base64
import mimetypes
import secrets
import sys
import time
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from ..models.params import ApiParams, Range
from . import errors
from . import gemini_api as api
from .base import UpstreamCall, decode_options, unsupported
from .canonical import (
    ENCODER,
    ChatCompletion,
    ChatRequest,
    Choice,
    ContentPart,
    Embedding,
    EmbeddingsRequest,
    EmbeddingsResponse,
    EmbeddingsUsage,
    FunctionCall,
    Message,
    NamedToolChoice,
    ToolCall,
    assistant,
)
from .content import chosen_function, split_data_url, text_of, tool_arguments
from .gemini_schema import gemini_schema
from .gemini_stream import GeminiStream

AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mp3"}
GEMINI_PARAMS: Mapping[str, Range] = {
    "temperature": Range(0, 2),
    "top_p": Range(0, 1),
    "top_k": Range(1),
    "presence_penalty": Range(),
    "frequency_penalty": Range(),
}


class GeminiOptions(msgspec.Struct, forbid_unknown_fields=True):
    """Options of the Gemini API."""

    api_version: Annotated[str, Meta(description="the path prefix: `/v1beta/models/…`")] = "v1beta"


class GeminiAdapter:
    name = "gemini"

    def __init__(self, options: Mapping[str, Any] | msgspec.Struct | None = None) -> None:
        self.options: GeminiOptions = decode_options(options or {}, GeminiOptions)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-goog-api-key": key}

    def accepted_params(self) -> ApiParams:
        # GenerationConfig: https://ai.google.dev/api/generate-content#generationconfig
        return ApiParams(f"Gemini API {self.options.api_version}", GEMINI_PARAMS)

    def _models_path(self, base_url: str) -> str:
        # base_url as the google-genai SDK takes it (https://generativelanguage.googleapis.com);
        # one that already ends in the version is used as it is.
        base = base_url.rstrip("/")
        return (
            "/models"
            if base.endswith(("/v1beta", "/v1", "/v1alpha"))
            else f"/{self.options.api_version}/models"
        )

    # ----------------------------------------------------------------- chat

    def chat_call(self, request: ChatRequest, upstream_model: str, base_url: str) -> UpstreamCall:
        method = "streamGenerateContent?alt=sse" if request.stream else "generateContent"
        path = f"{self._models_path(base_url)}/{upstream_model}:{method}"
        body = api.ENCODER.encode(generate_request(request))
        return UpstreamCall(path, {"content-type": "application/json"}, body)

    def chat_response(self, status: int, body: bytes, public_model: str) -> tuple[int, bytes]:
        if status >= 400:
            return error_response(status, body)
        try:
            answer = api.RESPONSE_DECODER.decode(body)
        except msgspec.DecodeError:
            return errors.unreadable(self.name, status)
        if not answer.candidates:
            return blocked(answer)
        return 200, ENCODER.encode(completion(answer, public_model))

    def chat_stream(self, public_model: str, include_usage: bool) -> GeminiStream:
        return GeminiStream(public_model, include_usage)

    # ----------------------------------------------------------------- embeddings

    def embeddings_call(self, request: EmbeddingsRequest, upstream_model: str, base_url: str) -> UpstreamCall:
        texts = [request.input] if isinstance(request.input, str) else request.input
        if not all(isinstance(t, str) for t in texts):
            raise unsupported("gemini embeds text only; token arrays are not supported.", "input")
        model = f"models/{upstream_model}"
        batch = api.BatchEmbedRequest(
            requests=[
                api.EmbedRequest(
                    model=model,
                    content=api.Content(parts=[api.Part(text=str(t))]),
                    output_dimensionality=request.dimensions,
                )
                for t in texts
            ]
        )
        path = f"{self._models_path(base_url)}/{upstream_model}:batchEmbedContents"
        return UpstreamCall(path, {"content-type": "application/json"}, api.ENCODER.encode(batch))

    def embeddings_response(
        self, status: int, body: bytes, public_model: str, encoding_format: str | None = None
    ) -> tuple[int, bytes]:
        if status >= 400:
            return error_response(status, body)
        try:
            answer = api.EMBED_DECODER.decode(body)
        except msgspec.DecodeError:
            return errors.unreadable(self.name, status)
        encode = _b64 if encoding_format == "base64" else None
        data = [
            Embedding(object="embedding", index=i, embedding=encode(e.values) if encode else e.values)
            for i, e in enumerate(answer.embeddings)
        ]
        # Gemini does not report embedding token counts.
        response = EmbeddingsResponse(
            object="list",
            data=data,
            model=public_model,
            usage=EmbeddingsUsage(prompt_tokens=0, total_tokens=0),
        )
        return 200, ENCODER.encode(response)


def _b64(values: list[float]) -> str:
    # OpenAI's base64 embeddings are little-endian float32.
    packed = array.array("f", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()


# --------------------------------------------------------------------------- request pieces


def generate_request(request: ChatRequest) -> api.GenerateContentRequest:
    if request.logprobs or request.top_logprobs:
        raise unsupported("logprobs are not supported through the gemini adapter.", "logprobs")
    if request.modalities and request.modalities != ["text"]:
        raise unsupported("Only text output is supported through the gemini adapter.", "modalities")
    system, contents = _contents(request.messages)
    out = api.GenerateContentRequest(contents=contents, system_instruction=system)
    _tools(request, out)
    config = api.GenerationConfig(
        stop_sequences=request.stop_list,
        temperature=request.temperature,
        top_p=request.top_p,
        top_k=request.top_k,
        max_output_tokens=request.output_limit,
        candidate_count=request.n,
        seed=request.seed,
        presence_penalty=request.presence_penalty,
        frequency_penalty=request.frequency_penalty,
    )
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        config.response_mime_type = "application/json"
        if fmt.type == "json_schema":
            if fmt.json_schema is None or fmt.json_schema.schema is None:
                raise unsupported("json_schema needs a schema.", "response_format.json_schema.schema")
            where = "response_format.json_schema.schema"
            config.response_schema = gemini_schema(fmt.json_schema.schema, where, ordered=True)
    if config != api.GenerationConfig():
        out.generation_config = config
    return out


def _contents(messages: list[Message]) -> tuple[api.Content | None, list[api.Content]]:
    system: list[api.Part] = []
    contents: list[api.Content] = []
    names: dict[str, str] = {}  # tool_call_id -> function name, for the function responses
    for i, msg in enumerate(messages):
        param = f"messages[{i}]"
        if msg.role in ("system", "developer"):
            system.append(api.Part(text=text_of(msg.content, param)))
            continue
        if msg.role == "user":
            role, parts = "user", _user_parts(msg.content, param)
        elif msg.role == "assistant":
            role, parts = "model", _model_parts(msg, param, names)
        elif msg.role == "tool":
            role, parts = "user", [_function_response(msg, param, names)]
        else:
            raise unsupported(
                "The legacy 'function' role is not supported; send tool results as 'tool' messages.",
                f"{param}.role",
            )
        if contents and contents[-1].role == role:
            contents[-1].parts.extend(parts)
        else:
            contents.append(api.Content(role=role, parts=parts))
    return (api.Content(parts=system) if system else None), contents


def _user_parts(content: str | list[ContentPart] | None, param: str) -> list[api.Part]:
    if content is None or isinstance(content, str):
        return [api.Part(text=content or "")]
    parts: list[api.Part] = []
    for j, part in enumerate(content):
        where = f"{param}.content[{j}]"
        if part.type == "text" and part.text is not None:
            parts.append(api.Part(text=part.text))
        elif part.type == "image_url" and part.image_url is not None:
            parts.append(_media(part.image_url.url, where))
        elif part.type == "input_audio" and part.input_audio is not None:
            mime = AUDIO_TYPES.get(part.input_audio.format, f"audio/{part.input_audio.format}")
            parts.append(api.Part(inline_data=api.Blob(mime_type=mime, data=part.input_audio.data)))
        elif part.type == "file" and part.file is not None and part.file.file_data:
            parts.append(_media(part.file.file_data, f"{where}.file.file_data"))
        else:
            raise unsupported(f"Content parts of type '{part.type}' are not supported by gemini.", where)
    return parts


def _media(url: str, param: str) -> api.Part:
    data = split_data_url(url, param)
    if data is not None:
        return api.Part(inline_data=api.Blob(mime_type=data[0], data=data[1]))
    mime, _ = mimetypes.guess_type(url.split("?", 1)[0])
    return api.Part(file_data=api.FileData(file_uri=url, mime_type=mime))


def _model_parts(msg: Message, param: str, names: dict[str, str]) -> list[api.Part]:
    parts: list[api.Part] = []
    if msg.content:
        text = text_of(msg.content, param) if not isinstance(msg.content, str) else msg.content
        parts.append(api.Part(text=text))
    for k, call in enumerate(msg.tool_calls or ()):
        args = tool_arguments(call.function.arguments, f"{param}.tool_calls[{k}].function.arguments")
        names[call.id] = call.function.name
        fn = api.FunctionCall(name=call.function.name, args=args)
        parts.append(api.Part(function_call=fn, thought_signature=api.signature_of(call.id)))
    return parts


def _function_response(msg: Message, param: str, names: dict[str, str]) -> api.Part:
    name = names.get(msg.tool_call_id or "")
    if name is None:
        raise unsupported(
            "A tool message must answer a tool call of an earlier assistant message (gemini needs the "
            "function name).",
            f"{param}.tool_call_id",
        )
    text = text_of(msg.content, param)
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        value = None
    # Gemini wants an object; "output" is its documented key for a plain result.
    response = value if isinstance(value, dict) else {"output": text}
    return api.Part(function_response=api.FunctionResponse(name=name, response=response))


def _tools(request: ChatRequest, out: api.GenerateContentRequest) -> None:
    declarations = []
    for i, tool in enumerate(request.tools or ()):
        fn = tool.function
        if tool.type != "function" or fn is None:
            raise unsupported(f"Tools of type '{tool.type}' are not supported by gemini.", f"tools[{i}]")
        params = fn.parameters
        # Gemini rejects an object schema without properties: a function without parameters has none.
        schema = (
            gemini_schema(params, f"tools[{i}].function.parameters")
            if params and params.get("properties")
            else None
        )
        declarations.append(
            api.FunctionDeclaration(name=fn.name, description=fn.description, parameters=schema)
        )
    if declarations:
        out.tools = [api.Tool(function_declarations=declarations)]
    choice = request.tool_choice
    if choice is None or not declarations:
        return
    if isinstance(choice, NamedToolChoice):
        name = chosen_function(choice, "gemini")
        config = api.FunctionCallingConfig(mode="ANY", allowed_function_names=[name])
    else:
        config = api.FunctionCallingConfig(mode={"none": "NONE", "auto": "AUTO", "required": "ANY"}[choice])
    out.tool_config = api.ToolConfig(function_calling_config=config)


# --------------------------------------------------------------------------- response pieces


def completion(answer: api.GenerateContentResponse, public_model: str) -> ChatCompletion:
    choices = []
    for candidate in answer.candidates:
        texts: list[str] = []
        calls: list[ToolCall] = []
        for part in candidate.content.parts if candidate.content else ():
            if part.function_call is not None:
                fn = part.function_call
                arguments = ENCODER.encode(fn.args or {}).decode()
                tool_id = fn.id or api.with_signature(part.thought_signature)
                calls.append(ToolCall(id=tool_id, function=FunctionCall(name=fn.name, arguments=arguments)))
            elif part.text is not None and not part.thought:
                texts.append(part.text)
        finish = api.finish_reason(candidate.finish_reason, bool(calls))
        message = assistant("".join(texts) if texts or not calls else None, calls or None)
        choices.append(Choice(index=candidate.index, message=message, finish_reason=finish))
    return ChatCompletion(
        id=f"chatcmpl-{answer.response_id or secrets.token_hex(12)}",
        object="chat.completion",
        created=int(time.time()),
        model=public_model,
        choices=choices,
        usage=api.openai_usage(answer.usage_metadata) if answer.usage_metadata else None,
    )


def blocked(answer: api.GenerateContentResponse) -> tuple[int, bytes]:
    # No candidate at all means the prompt itself was blocked: a 400, as Azure answers a filtered prompt.
    reason = answer.prompt_feedback.block_reason if answer.prompt_feedback else None
    return errors.provider_error(
        400,
        "gemini",
        f"The prompt was blocked ({reason or 'no candidates returned'}).",
        "invalid_request_error",
        "content_filter",
    )


def error_response(status: int, body: bytes) -> tuple[int, bytes]:
    try:
        err = api.ERROR_DECODER.decode(body).error
    except msgspec.DecodeError:
        return errors.provider_error(status, "gemini", f"The provider answered {status}.")
    status, kind, code = api.openai_error_kind(err, status)
    return errors.provider_error(status, "gemini", err.message or err.status, kind, code)
