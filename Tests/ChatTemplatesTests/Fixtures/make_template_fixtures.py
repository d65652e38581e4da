#!/usr/bin/env python3
"""Writes the chat-template fixtures: model folders holding this folder's templates (written for
bcsft's tests in the formats of Llama 2/3.1, Qwen2.5/3, Mistral and Gemma), and the outputs
transformers' apply_chat_template(tokenize=False) gives for a set of conversations, plus snippets
rendered by transformers' own jinja2 environment. Run with the venv made by:
    python3 -m venv .venv-jinja && .venv-jinja/bin/pip install jinja2 transformers
    .venv-jinja/bin/python Tests/ChatTemplatesTests/Fixtures/make_template_fixtures.py
"""
import json, os, shutil, sys
import jinja2, transformers
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import AutoTokenizer
from transformers.utils.chat_template_utils import _compile_jinja_template

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.join(HERE, "templates")
MODELS = os.path.join(HERE, "models")

def template(name):
    return open(os.path.join(TEMPLATES, name + ".jinja")).read()

# name -> (special tokens, how the folder holds its template)
FOLDERS = {
    "llama3": ({"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}, {"jinja": "llama3"}),
    "qwen25": ({"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}, {"config": "qwen25"}),
    "qwen3": ({"eos_token": "<|im_end|>"}, {"jinja": "qwen3"}),
    "mistral": ({"bos_token": "<s>", "eos_token": "</s>"}, {"config": "mistral"}),
    "gemma": ({"bos_token": "<bos>", "eos_token": "<eos>"}, {"jinja": "gemma"}),
    "llama2": ({"bos_token": "<s>", "eos_token": "</s>"}, {"config": "llama2"}),
    # the named-templates list form: "default" and another one
    "named": ({"eos_token": "<|im_end|>"}, {"list": [("default", "qwen25"), ("thinking", "qwen3")]}),
    # both locations: chat_template.jinja wins over tokenizer_config.json
    "both": ({"bos_token": "<s>", "eos_token": "</s>"}, {"jinja": "mistral", "config": "llama2"}),
}

def write_folder(name, tokens, where):
    folder = os.path.join(MODELS, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    vocab = {"<unk>": 0}
    for t in tokens.values():
        vocab.setdefault(t, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(os.path.join(folder, "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "<unk>", **tokens}
    if "config" in where:
        config["chat_template"] = template(where["config"])
    if "list" in where:
        config["chat_template"] = [{"name": n, "template": template(t)} for n, t in where["list"]]
    if "jinja" in where:
        with open(os.path.join(folder, "chat_template.jinja"), "w") as f:
            f.write(template(where["jinja"]))
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
        f.write("\n")

SYSTEM = {"role": "system", "content": "You answer in one line.  Quotes: \"q\" and 'a' — ünïcode ✓"}
U1 = {"role": "user", "content": "What is 2 + 2?"}
A1 = {"role": "assistant", "content": "  4  "}
U2 = {"role": "user", "content": "And times three?\n"}
A1_THINK = {"role": "assistant", "content": "<think>\n2 plus 2 is 4.\n</think>\n\n4"}
A2_THINK = {"role": "assistant", "content": "<think>\n4 times 3.\n</think>\n\n12"}
TOOLS = [{"type": "function", "function": {"name": "add", "description": "Adds two numbers.", "parameters": {
    "type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number", "description": "é, \"quoted\""}},
    "required": ["a", "b"]}}}]
CALL = {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "add", "arguments": {"a": 2, "b": 2.5}}}]}
TOOL = {"role": "tool", "content": "4.5"}

CONVERSATIONS = {
    "single": [U1],
    "system": [SYSTEM, U1],
    "multi": [U1, A1, U2],
    "system_multi": [SYSTEM, U1, A1, U2],
    "closed": [SYSTEM, U1, A1],
}
THINKING = {"think_multi": [U1, A1_THINK, U2], "think_closed": [SYSTEM, U1, A1_THINK, U2, A2_THINK]}
TOOL_CONVERSATIONS = {"tools": [SYSTEM, U1, CALL, TOOL]}

def cases():
    out = []
    def add(folder, conv_name, messages, gen, variables=None, named=None, tools=None):
        out.append({"folder": folder, "named": named, "conversation": conv_name, "messages": messages,
                    "add_generation_prompt": gen, "variables": variables or {}, "tools": tools})
    for folder in ["llama3", "qwen25", "qwen3", "mistral", "gemma", "llama2", "named", "both"]:
        extra = {"date_string": "26 Jul 2024"} if folder == "llama3" else {}
        convs = dict(CONVERSATIONS)
        if folder in ("qwen3",):
            convs.update(THINKING)
        for conv_name, messages in convs.items():
            for gen in (False, True):
                add(folder, conv_name, messages, gen, extra)
                if folder == "qwen3":
                    add(folder, conv_name, messages, gen, {"enable_thinking": False})
                    add(folder, conv_name, messages, gen, {"enable_thinking": True})
        if folder in ("llama3", "qwen25"):
            for conv_name, messages in TOOL_CONVERSATIONS.items():
                add(folder, conv_name, messages, True, extra, tools=TOOLS)
    for conv_name, messages in THINKING.items():
        add("named", conv_name, messages, True, {"enable_thinking": False}, named="thinking")
    # roles out of order: the templates raise
    add("gemma", "bad_order", [U1, U2], False)
    add("mistral", "bad_order", [SYSTEM, A1, U1], False)
    add("llama3", "bad_role", [U1, {"role": "narrator", "content": "x"}], False, {"date_string": "1 Jan 2025"})
    return out

def raise_line(name):
    """The template line of the (first) raise_exception a failing case reaches, for the tests."""
    lines = template(name).split("\n")
    return [i + 1 for i, l in enumerate(lines) if "raise_exception" in l]

def render_cases():
    results = []
    for case in cases():
        tok = AutoTokenizer.from_pretrained(os.path.join(MODELS, case["folder"]))
        kwargs = dict(tokenize=False, add_generation_prompt=case["add_generation_prompt"], **case["variables"])
        if case["named"]:
            kwargs["chat_template"] = case["named"]
        if case["tools"]:
            kwargs["tools"] = case["tools"]
        try:
            case["expected"] = tok.apply_chat_template(case["messages"], **kwargs)
        except jinja2.exceptions.TemplateError as e:
            case["error"] = str(e)
        results.append(case)
    return results

# Interpreter features, rendered by transformers' own environment (trim_blocks, lstrip_blocks,
# its tojson, raise_exception, namespace, loopcontrols).
SNIPPETS = [
    ("loop_vars", "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}", {"xs": ["a", "b", "c"]}),
    ("loop_prev_next", "{% for x in xs %}[{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}]{{ loop.cycle('o', 'e') }}{% endfor %}", {"xs": [1, 2, 3]}),
    ("loop_filter_else", "{% for x in xs if x > 1 %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}|{% for x in [] %}y{% else %}empty{% endfor %}", {"xs": [1, 2, 3]}),
    ("loop_scope", "{% set c = 0 %}{% for i in [1, 2, 3] %}{% set c = c + i %}{{ c }},{% endfor %}{{ c }}", {}),
    ("loop_controls", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 4 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("loop_unpack", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}", {"d": {"z": 1, "a": [1, 2]}}),
    ("namespace", "{% set ns = namespace(n=0, seen=false) %}{% for i in [3, 4] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }} {{ ns.seen }}", {}),
    ("slicing", "{{ s[::-1] }}|{{ s[1:] }}|{{ s[:-2] }}|{{ xs[::2] }}|{{ xs[-1] }}|{{ xs[1:3] }}|{{ xs[::-1][0] }}|{{ s[-3:-1] }}", {"s": "héllo wörld", "xs": [1, 2, 3, 4, 5]}),
    ("filters_text", "{{ '  Hi There  ' | trim }}|{{ s | upper }}|{{ s | lower }}|{{ 'hello world-foo' | title }}|{{ 'hELLO' | capitalize }}|{{ s | length }}|{{ s | replace('l', 'L') }}|{{ s | replace('l', '', 1) }}", {"s": "Hello"}),
    ("filters_default", "{{ missing | default('x') }}|{{ missing | d('y') }}|{{ '' | default('z', true) }}|{{ none | default('n') }}|{{ missing | length }}|[{{ missing }}]", {}),
    ("filters_list", "{{ xs | join(', ') }}|{{ xs | first }}|{{ xs | last }}|{{ xs | length }}|{{ 'ab' | list }}|{{ xs | reverse | list }}|{{ xs | sort }}|{{ [1, 1, 2] | unique | list }}|{{ xs | min }}{{ xs | max }}{{ xs | sum }}", {"xs": [3, 1, 2]}),
    ("filters_convert", "{{ '42' | int + 1 }}|{{ 'x' | int }}|{{ 3.7 | int }}|{{ '2.5' | float }}|{{ 7 | string + 'a' }}|{{ 1 / 2 }}|{{ 4 / 2 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ 2.5 | round }}|{{ 3.14159 | round(2) }}", {}),
    ("filters_attr", "{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='content') | join('+') }}|{{ ms | rejectattr('role', 'equalto', 'user') | list | length }}|{{ ms | map(attribute='role') | list }}|{{ ms | selectattr('tool_calls') | list | length }}|{{ ms | selectattr('tool_calls', 'defined') | list | length }}", {"ms": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "tool_calls": [1]}, {"role": "user", "content": "c"}]}),
    # Pairs are iterated, not printed: this interpreter has no tuple type, so a printed pair
    # would read [k, v] where Python writes (k, v).
    ("filters_items", "{% for k, v in d | items %}{{ k }}:{{ v }} {% endfor %}|{% for k, v in d | dictsort %}{{ k }}{{ v }}{% endfor %}", {"d": {"b": 2, "a": 1}}),
    ("tojson", "{{ x | tojson }}|{{ x | tojson(indent=2) }}|{{ 'é\"\\n' | tojson }}|{{ [] | tojson(indent=2) }}|{{ {} | tojson }}|{{ x | tojson(sort_keys=true) }}", {"x": {"z": [1, 2.5, True, None, "ü"], "a": {"n": {}}}}),
    ("tests", "{{ x is defined }}{{ y is undefined }}{{ none is none }}{{ 's' is string }}{{ 1 is number }}{{ 1.5 is number }}{{ d is mapping }}{{ xs is iterable }}{{ xs is sequence }}{{ 3 is odd }}{{ 4 is even }}{{ 1 is equalto 1 }}{{ 's' is in ['s'] }}{{ x is not none }}{{ 6 is divisibleby 3 }}{{ true is boolean }}{{ 1 is integer }}", {"x": 1, "d": {}, "xs": [1]}),
    ("operators", "{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 'a' ~ 1 ~ none }}|{{ 'a' + 'b' }}|{{ [1] + [2] }}|{{ 1 < 2 < 3 }}|{{ 1 == 1.0 }}|{{ 'b' in 'abc' }}|{{ 'x' not in ['y'] }}|{{ 'k' in {'k': 1} }}|{{ not true or false }}|{{ 0 or 'fallback' }}|{{ 1 and 'second' }}|{{ 'yes' if 1 else 'no' }}|{{ 'yes' if 0 }}|{{ -3 + 1 }}|{{ 'ab' * 3 }}", {}),
    ("literals", "{{ \"dq\\t'\" }}|{{ 'sq\\\"\\u00e9\\x41' }}|{{ [1, 'two', 3.0, true, none] }}|{{ {'a': 1, 'b': [2]} }}|{{ True }}{{ False }}{{ None }}|{{ 1_000 }}|{{ 'a' 'b' }}|{{ (1, 2) | list }}|{{ 1e3 }}", {}),
    ("string_methods", "{{ s.startswith('He') }}{{ s.endswith(('x', 'lo')) }}|{{ p.strip() }}|{{ p.lstrip() }}|{{ p.rstrip() }}|{{ 'xxhixx'.strip('x') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ s.upper() }}{{ s.lower() }}|{{ s.replace('l', 'L') }}|{{ 'they are'.title() }}|{{ s.find('l') }}|{{ '-'.join(['a', 'b']) }}|{{ 'a<think>b'.split('<think>')[-1] }}", {"s": "Hello", "p": "\n  pad \t\n"}),
    ("dict_methods", "{{ d.get('a') }}|{{ d.get('zz') }}|{{ d.get('zz', 'dflt') }}|{{ d.keys() | list }}|{{ d.values() | list }}|{{ d['a'] }}|{{ d.a }}|{% for p in d.items() %}{{ p[0] }}{{ p[1] }}{{ p | length }}{% endfor %}|{{ d | length }}", {"d": {"a": 1, "b": "two"}}),
    ("macros", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{{ suffix }}{% endmacro %}{% set suffix = '.' %}{{ greet('a') }} {{ greet('b', '?') }} {{ greet(name='c', punct=';') }}", {}),
    ("set_block", "{% set x %}  block {{ 1 + 1 }} {% endset %}[{{ x }}]{% set a, b = 1, 2 %}{{ a }}{{ b }}", {}),
    ("whitespace", "a  {%- if true -%}  b  {%- endif -%}  c\n  {% if true %}\n    d\n  {% endif %}\n  {{ 'e' }}  \n  {# comment #}\n{%+ if true %}f{% endif +%}\ng\n{{- ' h ' -}}\n  i\n", {}),
    ("whitespace_lstrip_after_output", "{{ 'x' }}  {% if true %}y{% endif %}\n  {% for i in [1, 2] %}\n{{ i }}\n  {% endfor %}\nend", {}),
    ("undefined", "[{{ missing }}][{{ missing is defined }}][{{ d.nokey }}][{{ d.nokey is defined }}][{{ missing | string }}][{% for x in missing %}x{% endfor %}][{{ missing == none }}][{{ 'a' ~ missing }}]", {"d": {}}),
    ("tools_none", "{{ tools is defined }}{{ tools is none }}{{ documents is none }}", {"tools": None, "documents": None}),
    ("indent", "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}", {}),
    ("dict_global", "{{ dict(a=1, b='x') | tojson }}|{{ namespace(a=1).a }}|{{ range(3) | list }}|{{ range(1, 7, 2) | list }}", {}),
    ("chained", "{{ ms[-1]['content'].split('</think>')[-1].lstrip('\\n') | upper }}|{{ (ms | length) - 1 }}|{{ ms[0].content[:2] }}", {"ms": [{"role": "user", "content": "hey"}, {"role": "assistant", "content": "<think>\nx\n</think>\n\nok"}]}),
    ("numbers_print", "{{ 0.1 + 0.2 }}|{{ 1e20 }}|{{ 1.5e-7 }}|{{ 3.0 }}|{{ -0.0 }}|{{ 10 / 4 }}|{{ 2 ** -1 }}", {}),
]

# Failing snippets: the error's kind and (for syntax errors) the line jinja2 names.
FAILING = [
    ("syntax_unclosed_if", "line one\n{% if x %}\nbody\n", {}),
    ("syntax_bad_expr", "a\nb\n{{ 1 + }}\n", {}),
    ("syntax_unknown_tag", "x\n{% frobnicate %}\n", {}),
    ("syntax_endfor_without_for", "{% if true %}\n{% endfor %}\n", {}),
    ("raise", "ok\n{% if fail %}\n  {{ raise_exception('custom failure: ' ~ n) }}\n{% endif %}", {"fail": True, "n": 3}),
    ("undefined_attribute", "line\n{{ missing.attr }}", {}),
    ("unknown_filter", "a\n\n{{ 'x' | nosuchfilter }}", {}),
]

def render_snippets():
    out = []
    for name, src, variables in SNIPPETS:
        out.append({"name": name, "template": src, "variables": variables, "expected": _compile_jinja_template(src).render(**variables)})
    for name, src, variables in FAILING:
        case = {"name": name, "template": src, "variables": variables}
        try:
            _compile_jinja_template(src).render(**variables)
            raise SystemExit(f"{name} did not fail")
        except jinja2.exceptions.TemplateSyntaxError as e:
            case.update(kind="syntax", line=e.lineno, message=e.message)
        except jinja2.exceptions.UndefinedError as e:
            case.update(kind="render", message=str(e))
        except jinja2.exceptions.TemplateAssertionError as e:
            case.update(kind="syntax", line=e.lineno, message=str(e))
        except jinja2.exceptions.TemplateError as e:
            case.update(kind="raised", message=str(e))
        out.append(case)
    return out

def main():
    for name, (tokens, where) in FOLDERS.items():
        write_folder(name, tokens, where)
    results = {
        "generator": f"transformers {transformers.__version__}, jinja2 {jinja2.__version__}",
        "raise_lines": {n: raise_line(n) for n in ["gemma", "mistral", "llama3"]},
        "cases": render_cases(),
        "snippets": render_snippets(),
    }
    with open(os.path.join(HERE, "template_cases.json"), "w") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(results['cases'])} cases, {len(results['snippets'])} snippets")

if __name__ == "__main__":
    main()
