import Foundation

/// bcsft's own chat templates, written in Jinja like a model folder's, so a student trained from
/// a bcsft-made tokenizer and one loaded from Hugging Face go through the same renderer.
extension ChatTemplate {
    /// `bcsft`: one single-piece marker per turn (the tokenizer stage makes them pieces); an
    /// assistant turn ends with EOS. `<s><|system|>S<|end|><|user|>U<|end|><|assistant|>A</s>`
    static let bcsftSource = """
        {{- bos_token -}}
        {%- for message in messages -%}
          {%- if message['role'] == 'assistant' -%}
            {{- '<|assistant|>' + message['content'] + eos_token -}}
          {%- elif message['role'] in ['system', 'user'] -%}
            {{- '<|' + message['role'] + '|>' + message['content'] + '<|end|>' -}}
          {%- else -%}
            {{- raise_exception('bcsft template: role ' + message['role'] + ' is not system, user or assistant') -}}
          {%- endif -%}
        {%- endfor -%}
        {%- if add_generation_prompt -%}{{- '<|assistant|>' -}}{%- endif -%}
        """

    /// `llama2`: Llama-2-chat's format. A system message goes inside the first user turn;
    /// every exchange starts with BOS; the assistant's answer is framed by spaces and ends with EOS.
    /// `<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST] A </s><s>[INST] U2 [/INST] A2 </s>`
    static let llama2Source = """
        {%- if messages and messages[0]['role'] == 'system' -%}
          {%- set system = messages[0]['content'] -%}
          {%- set turns = messages[1:] -%}
        {%- else -%}
          {%- set system = none -%}
          {%- set turns = messages -%}
        {%- endif -%}
        {%- for message in turns -%}
          {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
            {{- raise_exception('llama2 template: after an optional system message, roles must alternate user, assistant, user, ...') -}}
          {%- endif -%}
          {%- if message['role'] == 'user' -%}
            {%- if loop.first and system is not none -%}
              {{- bos_token + '[INST] <<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' + message['content'] + ' [/INST]' -}}
            {%- else -%}
              {{- bos_token + '[INST] ' + message['content'] + ' [/INST]' -}}
            {%- endif -%}
          {%- else -%}
            {{- ' ' + message['content'] + ' ' + eos_token -}}
          {%- endif -%}
        {%- endfor -%}
        """

    /// The built-in templates by name.
    public static let builtinNames = ["bcsft", "llama2"]

    /// Pieces a tokenizer trained for a built-in template must hold as single pieces.
    public static func markers(ofBuiltin name: String) -> [String] {
        name == "bcsft" ? ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"] : []
    }

    /// A built-in template; nil for an unknown name.
    public static func builtin(_ name: String, specialTokens: [String: String] = [:]) -> ChatTemplate? {
        let source: String
        switch name {
        case "bcsft": source = bcsftSource
        case "llama2": source = llama2Source
        default: return nil
        }
        // The sources are constants, parsed by the tests: a failure here is a bug in this file.
        return try! ChatTemplate(source, name: name, specialTokens: specialTokens)
    }
}
