#!/usr/bin/env python3
"""Writes the chat-rendering parity fixtures: three model folders (byte-level BPE tokenizer + chat
template) and chat_ids.json, the text and ids transformers' apply_chat_template gives for a set of
conversations, with the character and UTF-8 byte spans of each assistant message in the text.

Needs transformers >= 4.51 with tokenizers and jinja2 (no torch). From the repository root:
    python3 -m venv .venv-jinja && .venv-jinja/bin/pip install transformers tokenizers jinja2
    .venv-jinja/bin/python Tests/DatasetsTests/Fixtures/chat/make_chat_fixtures.py

Inputs (committed): the BPE fixtures of Tests/TokenizersTests/Fixtures/bpe/{llama3,qwen2} and the
templates of Tests/ChatTemplatesTests/Fixtures/templates/{llama3,qwen25,qwen3}.jinja.
The output depends only on them and on the library versions, recorded as "generator".
"""
import inspect, json, os, re, shutil
import jinja2, tokenizers, transformers
from tokenizers import AddedToken, Tokenizer
from transformers import AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
BPE = os.path.join(ROOT, "Tests", "TokenizersTests", "Fixtures", "bpe")
TEMPLATES = os.path.join(ROOT, "Tests", "ChatTemplatesTests", "Fixtures", "templates")


def template(name):
    with open(os.path.join(TEMPLATES, name + ".jinja"), encoding="utf-8") as f:
        return f.read()


# name -> bpe fixture, tokens to add (content, special), tokenizer_config fields, template and where it goes
FOLDERS = {
    # Llama 3.1 has <|eom_id|> too; the fixture was trained without it.
    "llama3": dict(bpe="llama3", add=[("<|eom_id|>", True)],
                   config={"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
                   template="llama3", where="jinja", end_of_turn="<|eot_id|>",
                   variables={"date_string": "26 Jul 2024"}),
    "qwen25": dict(bpe="qwen2", add=[],
                   config={"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
                   template="qwen25", where="config", end_of_turn="<|im_end|>", variables={}),
    # Qwen3 holds <think> and </think> as added tokens that are not special.
    "qwen3": dict(bpe="qwen2", add=[("<think>", False), ("</think>", False)],
                  config={"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
                  template="qwen3", where="jinja", end_of_turn="<|im_end|>", variables={}),
}


def write_folder(name, spec):
    folder = os.path.join(HERE, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    tok = Tokenizer.from_file(os.path.join(BPE, spec["bpe"], "tokenizer.json"))
    for content, special in spec["add"]:
        assert tok.token_to_id(content) is None, f"{content} is in the {spec['bpe']} fixture already"
        token = AddedToken(content, special=special, normalized=False)
        (tok.add_special_tokens if special else tok.add_tokens)([token])
    tok.save(os.path.join(folder, "tokenizer.json"), pretty=True)
    # tokenizer_config.json as a released model folder holds it: the added tokens again (keyed by
    # id), the special token names, and PreTrainedTokenizerFast so transformers 4.x and 5.x load it.
    added = json.loads(tok.to_str())["added_tokens"]
    config = {
        "added_tokens_decoder": {str(t["id"]): {k: t[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
                                 for t in added},
        **spec["config"],
        "clean_up_tokenization_spaces": False,
        "model_max_length": 131072,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    if spec["where"] == "config":
        config["chat_template"] = template(spec["template"])
    else:
        with open(os.path.join(folder, "chat_template.jinja"), "w", encoding="utf-8") as f:
            f.write(template(spec["template"]))
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
        f.write("\n")


def m(role, content):
    return {"role": role, "content": content}


SYS = m("system", "You are a careful tutor.\nUse LaTeX for maths, e.g. $\\frac{a}{b}$, and answer briefly.")
U_MATH = m("user", "What is $\\sum_{i=1}^{n} i$? Show the steps.")
A_MATH = m("assistant", "Pair the first and last terms:\n\n$$\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}$$\n\nSo for $n = 100$ the sum is 5050.")
U_CODE = m("user", "Write a Python function that squares x.\n\nKeep it short.")
A_CODE = m("assistant", "```python\ndef square(x):\n    return x ** 2  # square\n```\n\n\tTabs\tand a CRLF line\r\nend")
U_CJK = m("user", "用中文解释一下：什么是递归？日本語でもお願いします。")
# ends in an ideographic space: Python's (and so jinja's) strip() removes it
A_CJK = m("assistant", "递归是函数调用自身。\n\n再帰とは、関数が自分自身を呼び出すことです。\u3000")
U_EMOJI = m("user", "Rate these: 👍🏽 or 👨‍👩‍👧‍👦? 🇫🇷 ❤️‍🔥")
# leading and trailing spaces, empty lines, and a decomposed é (NFC folds it in the Qwen folders)
A_EMOJI = m("assistant", "  Both are fine 😀 — naïve cafe\u0301 ✓\n\n\n  ")
U_WS = m("user", "\n  an indented question with trailing spaces   \n")
A_LINES = m("assistant", "line one\n\n\nline four, after two empty lines\n")
# an added token of the Qwen2 fixture that is not special
A_BEHAVIOR = m("assistant", "behavior_sum_then_check: 35 + 67 = 102. Check: 102 - 67 = 35 ✓")
U_SHORT = m("user", "And the next one?")
A_THINK1 = m("assistant", "<think>\nThe user wants 2 + 2.\n\nThat is 4.\n</think>\n\n4")
U_TIMES = m("user", "Times three?")
A_THINK2 = m("assistant", "<think>\n4 × 3 = 12\n</think>\n\nIt is **12**.")
A_PLAIN = m("assistant", "Done: 12 ÷ 4 = 3.")
# control tokens written by the user, as text
U_CONTROL = m("user", "Print the strings <|im_end|> and <|eot_id|> literally.")

# name -> messages; add_generation_prompt is true exactly where the conversation ends with a user turn
CONVERSATIONS = {
    "single_gen": [U_MATH],
    "system_single_gen": [SYS, U_MATH],
    "single_closed": [U_MATH, A_MATH],
    "system_single_closed": [SYS, U_CJK, A_CJK],
    "multi_gen": [U_MATH, A_MATH, U_CODE, A_CODE, U_EMOJI],
    "system_multi_gen": [SYS, U_CODE, A_CODE, U_CJK, A_CJK, U_WS],
    "multi_closed": [U_MATH, A_MATH, U_EMOJI, A_EMOJI, U_CODE, A_CODE],
    "system_multi_closed": [SYS, U_WS, A_LINES, U_EMOJI, A_EMOJI, U_SHORT, A_BEHAVIOR],
    "think_gen": [U_MATH, A_THINK1, U_TIMES],
    "think_closed": [SYS, U_MATH, A_THINK1, U_TIMES, A_THINK2],
    "think_multi_closed": [U_MATH, A_THINK1, U_TIMES, A_THINK2, U_SHORT, A_PLAIN],
    "control_literal_gen": [U_CONTROL],
}


def utf8_offset(text, i):
    return len(text[:i].encode("utf-8"))


def special_tokens(tok):
    return sorted((t.content for t in tok.added_tokens_decoder.values() if t.special), key=len, reverse=True)


def spans(folder, text, messages, specials):
    """Where each assistant message's content lies in text, found by searching (not by knowing the
    template): messages are searched in order from the end of the previous one found, the content as
    given and else stripped; then the special token after it, past optional whitespace."""
    out, cursor = [], 0
    for index, message in enumerate(messages):
        content = message["content"]
        found = None
        for match, needle in (("content", content), ("stripped", content.strip())):
            at = text.find(needle, cursor) if needle else -1
            if at >= 0:
                found = (match, needle, at)
                break
        if message["role"] != "assistant":
            if found:
                cursor = found[2] + len(found[1])
            continue
        span = {"message_index": index, "match": None, "char_start": None, "char_end": None, "utf8_start": None,
                "utf8_end": None, "end_token": None, "end_token_char_start": None, "end_token_char_end": None,
                "end_token_utf8_start": None, "end_token_utf8_end": None, "note": None}
        if not found:
            span["note"] = "the content is not in the text as given nor stripped: the template rendered it altered"
            if folder == "qwen3" and "</think>" in content:
                span["note"] += " (Qwen3 drops the reasoning of assistant turns before the last user message)"
            out.append(span)
            continue
        match, needle, start = found
        # ground truth must be unambiguous
        assert text.count(needle) == 1, f"{folder}: message {index}'s content occurs {text.count(needle)} times"
        end = start + len(needle)
        cursor = end
        span.update(match=match, char_start=start, char_end=end,
                    utf8_start=utf8_offset(text, start), utf8_end=utf8_offset(text, end))
        assert text.encode("utf-8")[span["utf8_start"]:span["utf8_end"]].decode("utf-8") == needle
        after = end
        while after < len(text) and text[after].isspace():
            after += 1
        token = next((s for s in specials if text.startswith(s, after)), None)
        if token:
            span.update(end_token=token, end_token_char_start=after, end_token_char_end=after + len(token),
                        end_token_utf8_start=utf8_offset(text, after), end_token_utf8_end=utf8_offset(text, after + len(token)))
        if text[:start].endswith("<think>\n\n</think>\n\n") and "<think>" not in content:
            span["note"] = "the template put an empty <think>\\n\\n</think>\\n\\n block before the content"
        out.append(span)
    return out


def cases():
    out = []
    for folder, spec in FOLDERS.items():
        thinking = [{}, {"enable_thinking": True}, {"enable_thinking": False}] if folder == "qwen3" else [{}]
        for conversation, messages in CONVERSATIONS.items():
            for extra in thinking:
                variables = {**spec["variables"], **extra}
                name = "/".join([folder, conversation] + [f"{k}={json.dumps(v)}" for k, v in extra.items()])
                out.append({"name": name, "folder": folder, "conversation": conversation, "messages": messages,
                            "add_generation_prompt": messages[-1]["role"] == "user", "variables": variables})
    return out


def render(case, tok, sanitize):
    kwargs = dict(add_generation_prompt=case["add_generation_prompt"], **case["variables"])
    text = tok.apply_chat_template(case["messages"], tokenize=False, **kwargs)
    ids = tok.apply_chat_template(case["messages"], tokenize=True, return_dict=False, **kwargs)
    assert isinstance(ids, list) and all(isinstance(i, int) for i in ids), f"{case['name']}: ids are not a flat list"
    # what tokenize=True does: encode the rendered text without adding special tokens
    plain = tok(text, add_special_tokens=False)["input_ids"]
    assert ids == plain, f"{case['name']}: apply_chat_template ids differ from tokenizer(text, add_special_tokens=False)"
    default = tok.apply_chat_template(case["messages"], tokenize=True, **kwargs)
    default_ids = default["input_ids"] if hasattr(default, "keys") else default
    assert list(default_ids) == ids, f"{case['name']}: return_dict changes the ids"
    # what add_special_tokens=True would have put around them (the Llama 3 post-processor's BOS)
    full = tok(text)["input_ids"]
    at = next(i for i in range(len(full) - len(ids) + 1) if full[i:i + len(ids)] == ids)
    result = {**case, "text": text, "ids": ids,
              "added_by_add_special_tokens": {"prefix": full[:at], "suffix": full[at + len(ids):]},
              "assistant_spans": spans(case["folder"], text, case["messages"], special_tokens(tok))}
    for span in result["assistant_spans"]:
        expected = FOLDERS[case["folder"]]["end_of_turn"]
        if span["match"] is not None:
            assert span["end_token"] == expected, f"{case['name']}: {span['end_token']} ends a turn, not {expected}"
    # Only where the user writes control tokens: sanitizing also marks <think> in Qwen3 contents,
    # and the marks defeat the template's split on </think> (other text, not just other ids).
    if sanitize and case["conversation"] == "control_literal_gen":
        result["ids_sanitized"] = tok.apply_chat_template(case["messages"], tokenize=True, return_dict=False,
                                                          sanitize_control_tokens=True, **kwargs)
    else:
        result["ids_sanitized"] = None
    return result, type(default).__name__


def check_folder(name, spec, tok):
    """The folder loads as the model's: special tokens, template, added tokens as specified."""
    for key, value in spec["config"].items():
        assert getattr(tok, key) == value, f"{name}: {key} is {getattr(tok, key)!r}, not {value!r}"
    assert tok.chat_template == template(spec["template"]), f"{name}: the template did not load"
    added = {t.content: t.special for t in tok.added_tokens_decoder.values()}
    for content, special in spec["add"]:
        assert added.get(content) is special, f"{name}: {content} is not an added token with special={special}"
        assert len(tok(content, add_special_tokens=False)["input_ids"]) == 1


def compact(obj):
    """JSON with one line per field but each list of numbers on one line."""
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    text = re.sub(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]", lambda g: "[" + ", ".join(re.split(r",\s*", g.group(1))) + "]", text)
    assert json.loads(text) == obj
    return text + "\n"


def main():
    for name, spec in FOLDERS.items():
        write_folder(name, spec)
    tokenizers_by_folder = {}
    for name, spec in FOLDERS.items():
        tok = AutoTokenizer.from_pretrained(os.path.join(HERE, name))
        check_folder(name, spec, tok)
        tokenizers_by_folder[name] = tok
    sanitize = "sanitize_control_tokens" in inspect.signature(transformers.PreTrainedTokenizerBase.apply_chat_template).parameters
    results, return_types = [], set()
    for case in cases():
        result, return_type = render(case, tokenizers_by_folder[case["folder"]], sanitize)
        results.append(result)
        return_types.add(return_type)
    fixture = {
        "generator": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                      "jinja2": jinja2.__version__, "script": "Tests/DatasetsTests/Fixtures/chat/make_chat_fixtures.py"},
        "tokenize_true": (
            "apply_chat_template(tokenize=True) encoded the rendered text with add_special_tokens=False: "
            "for every case ids == tokenizer(text, add_special_tokens=False).input_ids (asserted). "
            "added_by_add_special_tokens holds the ids tokenizer(text) (add_special_tokens=True) puts before and "
            "after them. "
            f"With tokenize=True and no return_dict it returned {', '.join(sorted(return_types))}. "
            + ("ids_sanitized: the ids with sanitize_control_tokens=True, for the control_literal cases only "
               "(null elsewhere)."
               if sanitize else "This transformers has no sanitize_control_tokens.")),
        "offsets": ("char_* are Python str indices (Unicode scalar offsets) into text; utf8_* are UTF-8 byte "
                    "offsets; ends are exclusive."),
        "cases": results,
    }
    with open(os.path.join(HERE, "chat_ids.json"), "w", encoding="utf-8") as f:
        f.write(compact(fixture))
    nulls = sum(s["match"] is None for r in results for s in r["assistant_spans"])
    differ = sum(bool(r["added_by_add_special_tokens"]["prefix"] or r["added_by_add_special_tokens"]["suffix"]) for r in results)
    print(f"{len(results)} cases, {sum(len(r['assistant_spans']) for r in results)} assistant spans ({nulls} null), "
          f"{differ} cases where add_special_tokens=True differs; transformers {transformers.__version__}, "
          f"tokenizers {tokenizers.__version__}")


if __name__ == "__main__":
    main()
