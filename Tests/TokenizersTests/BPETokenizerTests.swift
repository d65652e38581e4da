import Foundation
import TestSupport
@testable import Tokenizers
import XCTest

/// tokenizer.json tokenizers against PyPI `tokenizers` (Fixtures/make_bpe_fixtures.py wrote the
/// tokenizers and the reference's ids and decodes).
final class BPETokenizerTests: XCTestCase {
    struct Row: Decodable {
        let ids: [Int32]
        let ids_with_special: [Int32]
        let decoded: String
        let decoded_skipping_special: String
        let decoded_each: [String]
    }

    struct Parity: Decodable {
        let corpus: [String]
        let llama3: [Row]
        let qwen2: [Row]
    }

    static let bpeDir = Fixture.dir.appendingPathComponent("bpe")
    static func folder(_ name: String) -> URL { bpeDir.appendingPathComponent(name) }
    static func parity() throws -> Parity {
        try JSONDecoder().decode(Parity.self, from: Data(contentsOf: bpeDir.appendingPathComponent("parity.json")))
    }

    /// Every id, with and without special tokens, and both decodes, as the reference has them;
    /// the mismatching texts are reported by index.
    func assertParity(_ tok: BPETokenizer, _ rows: [Row], _ corpus: [String], _ label: String) throws {
        XCTAssertEqual(rows.count, corpus.count)
        var mismatches: [Int] = []
        for (i, (text, row)) in zip(corpus, rows).enumerated() {
            let plain = try tok.encode(text, addSpecialTokens: false)
            let special = try tok.encode(text, addSpecialTokens: true)
            let decoded = try tok.decode(row.ids, skipSpecialTokens: false)
            let skipping = try tok.decode(row.ids, skipSpecialTokens: true)
            let each = try row.ids.map { try tok.decode([$0]) }
            // Scalars, not String ==, which would call canonically equivalent texts equal.
            if plain != row.ids || special != row.ids_with_special || Array(decoded.unicodeScalars) != Array(row.decoded.unicodeScalars)
                || Array(skipping.unicodeScalars) != Array(row.decoded_skipping_special.unicodeScalars)
                || each.map({ Array($0.unicodeScalars) }) != row.decoded_each.map({ Array($0.unicodeScalars) }) {
                mismatches.append(i)
            }
        }
        XCTAssertEqual(mismatches, [], "\(label): texts whose ids or decodes differ from the reference: \(mismatches.map { corpus[$0].debugDescription })")
    }

    func testLlama3StyleMatchesReference() throws {
        let p = try Self.parity()
        for name in ["llama3", "llama3-merges-as-strings"] {
            try assertParity(try BPETokenizer(contentsOf: Self.folder(name).appendingPathComponent("tokenizer.json")), p.llama3, p.corpus, name)
        }
    }

    func testQwen2StyleMatchesReference() throws {
        let p = try Self.parity()
        for name in ["qwen2", "qwen2-merges-as-strings"] {
            try assertParity(try BPETokenizer(contentsOf: Self.folder(name).appendingPathComponent("tokenizer.json")), p.qwen2, p.corpus, name)
        }
    }

    /// The fixture is sensitive to ignore_merges: with it off, the Llama-3-style tokenizer's
    /// whole-word tokens are built from merges instead, and some ids differ from the reference.
    func testIgnoreMergesMatters() throws {
        let p = try Self.parity()
        let url = Self.folder("llama3").appendingPathComponent("tokenizer.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var model = json["model"] as! [String: Any]
        XCTAssertEqual(model["ignore_merges"] as? Bool, true)
        model["ignore_merges"] = false
        json["model"] = model
        let off = try BPETokenizer(json: JSONSerialization.data(withJSONObject: json))
        let differing = try zip(p.corpus, p.llama3).filter { try off.encode($0.0) != $0.1.ids }.count
        XCTAssertGreaterThan(differing, 0)
    }

    func testRoundTrip() throws {
        let p = try Self.parity()
        let llama = try loadTokenizer(at: Self.folder("llama3"))
        let qwen = try loadTokenizer(at: Self.folder("qwen2")) as! BPETokenizer
        for text in p.corpus {
            XCTAssertEqual(Array(try llama.decode(llama.encode(text)).unicodeScalars), Array(text.unicodeScalars), text.debugDescription)
            // Qwen2 normalises to NFC, and [MASK] (lstrip, rstrip) takes the spaces around it.
            guard !text.contains("[MASK]") else { continue }
            let nfc = text.precomposedStringWithCanonicalMapping
            XCTAssertEqual(Array(try qwen.decode(qwen.encode(text)).unicodeScalars), Array(nfc.unicodeScalars), text.debugDescription)
        }
        XCTAssertEqual(try qwen.decode(qwen.encode("x [MASK]  y")), "x[MASK]y")
    }

    func testSpecialTokensInsideText() throws {
        let llama = try BPETokenizer(contentsOf: Self.folder("llama3").appendingPathComponent("tokenizer.json"))
        let eot = try XCTUnwrap(llama.id(forPiece: "<|eot_id|>"))
        XCTAssertTrue(llama.isSpecial(eot))
        let ids = try llama.encode("Hello<|eot_id|>world<|eot_id|>")
        XCTAssertEqual(ids.filter { $0 == eot }.count, 2)
        XCTAssertEqual(ids.last, eot)
        // A near miss is ordinary text.
        XCTAssertFalse(try llama.encode("Hello<|eot_id |>world").contains(eot))
        XCTAssertEqual(try llama.decode(ids, skipSpecialTokens: true), "Helloworld")

        // BOS/EOS from tokenizer_config.json; the template adds BOS only on request.
        XCTAssertEqual(llama.bosID, llama.id(forPiece: "<|begin_of_text|>"))
        XCTAssertEqual(llama.eosID, eot)
        XCTAssertEqual(try llama.encode("hi", addSpecialTokens: true), [llama.bosID!] + (try llama.encode("hi")))
        let qwen = try BPETokenizer(contentsOf: Self.folder("qwen2").appendingPathComponent("tokenizer.json"))
        XCTAssertNil(qwen.bosID)
        XCTAssertEqual(qwen.eosID, qwen.id(forPiece: "<|im_end|>"))
        XCTAssertEqual(qwen.padID, qwen.id(forPiece: "<|endoftext|>"))
        XCTAssertEqual(try qwen.encode("hi", addSpecialTokens: true), try qwen.encode("hi"))
        // The non-special added token is matched after NFC and is kept by a skipping decode.
        let behavior = try XCTUnwrap(qwen.id(forPiece: "behavior_sum_then_check"))
        XCTAssertFalse(qwen.isSpecial(behavior))
        XCTAssertEqual(try qwen.encode("a behavior_sum_then_check"), try qwen.encode("a ") + [behavior])
        XCTAssertEqual(try qwen.decode([behavior], skipSpecialTokens: true), "behavior_sum_then_check")
    }

    func testBatchEncodeEqualsOneByOne() throws {
        let p = try Self.parity()
        for name in ["llama3", "qwen2"] {
            let tok = try loadTokenizer(at: Self.folder(name))
            let texts = Array(repeating: p.corpus, count: 8).flatMap { $0 }
            XCTAssertEqual(try tok.encode(batch: texts, threads: 4), try texts.map { try tok.encode($0) }, name)
        }
    }

    /// `tokenizer encode --model` takes a model folder or its tokenizer.json, and encodes as the reference.
    func testEncodeCommandTakesAModelFolderOrItsTokenizerJSON() throws {
        let exe = try bcsftExecutable()
        let p = try Self.parity()
        // One text per line: the texts that hold no line break.
        let rows = zip(p.corpus, p.llama3).filter { !$0.0.contains("\n") && !$0.0.contains("\r") }
        XCTAssertGreaterThan(rows.count, 3)
        let input = Data(rows.map { $0.0 + "\n" }.joined().utf8)
        for model in [Self.folder("llama3"), Self.folder("llama3").appendingPathComponent("tokenizer.json")] {
            let (status, out, err) = try runProcess(exe, ["tokenizer", "encode", "--model", model.path], input: input)
            XCTAssertEqual(status, 0, err)
            let got = out.components(separatedBy: "\n").dropLast().map { $0.split(separator: " ").map { Int32($0)! } }
            XCTAssertEqual(got, rows.map(\.1.ids), model.lastPathComponent)
        }
    }

    func testFileBytesHashAndVocabulary() throws {
        let url = Self.folder("llama3").appendingPathComponent("tokenizer.json")
        let data = try Data(contentsOf: url)
        let tok = try BPETokenizer(contentsOf: url)
        let config = try Data(contentsOf: Self.folder("llama3").appendingPathComponent("tokenizer_config.json"))
        XCTAssertEqual(tok.files, ["tokenizer.json": data, "tokenizer_config.json": config], "a folder of these files loads back as this tokenizer")
        if let (status, out, _) = try? runProcess("/usr/bin/sha256sum", [url.path]), status == 0 {
            XCTAssertEqual(tok.sha256, String(out.prefix(64)))
        }
        let other = try BPETokenizer(contentsOf: Self.folder("llama3-merges-as-strings").appendingPathComponent("tokenizer.json"))
        XCTAssertNotEqual(tok.sha256, other.sha256)
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let ids = ((json["model"] as! [String: Any])["vocab"] as! [String: Int]).values + (json["added_tokens"] as! [[String: Any]]).map { $0["id"] as! Int }
        XCTAssertEqual(tok.vocabularySize, ids.max()! + 1)
        XCTAssertNoThrow(try tok.piece(forID: Int32(tok.vocabularySize - 1)))
        XCTAssertThrowsError(try tok.decode([Int32(tok.vocabularySize)]))
    }

    func testLoaderResolvesFoldersAndFiles() throws {
        XCTAssertTrue(try loadTokenizer(at: Self.folder("qwen2")) is BPETokenizer)
        XCTAssertTrue(try loadTokenizer(at: Self.folder("qwen2").appendingPathComponent("tokenizer.json")) is BPETokenizer)
        XCTAssertTrue(try loadTokenizer(at: Fixture.referenceModel) is SentencePieceTokenizer)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try loadTokenizer(at: dir)) { XCTAssertTrue("\($0)".contains("neither"), "\($0)") }
        try FileManager.default.copyItem(at: Fixture.referenceModel, to: dir.appendingPathComponent("tokenizer.model"))
        XCTAssertTrue(try loadTokenizer(at: dir) is SentencePieceTokenizer)

        // A Llama 2 / Mistral folder: tokenizer.model beside a SentencePiece-style tokenizer.json
        // (Metaspace, not byte-level) reads as the model, keeping the HF files beside it.
        let metaspace = #"{"model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁"}}"#
        try metaspace.write(to: dir.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        try #"{"bos_token": "<s>", "eos_token": "</s>"}"#.write(to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        let both = try loadTokenizer(at: dir)
        XCTAssertTrue(both is SentencePieceTokenizer)
        XCTAssertEqual(Set(both.files.keys), ["tokenizer.model", "tokenizer.json", "tokenizer_config.json"])
        XCTAssertEqual(both.sha256, try loadTokenizer(at: Fixture.referenceModel).sha256, "the hash is the model's")
        // Without the tokenizer.model, the same tokenizer.json is refused with its field.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("tokenizer.model"))
        XCTAssertThrowsError(try loadTokenizer(at: dir)) { XCTAssertTrue("\($0)".contains("pre_tokenizer"), "\($0)") }
    }

    /// Each unsupported or malformed part is refused with its JSON path.
    func testUnsupportedPartsNameTheirField() throws {
        let url = Self.folder("llama3").appendingPathComponent("tokenizer.json")
        let base = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        func field(_ edit: (inout [String: Any]) -> Void) -> String? {
            var j = base
            edit(&j)
            do {
                _ = try BPETokenizer(json: JSONSerialization.data(withJSONObject: j), source: "t.json")
                return nil
            } catch let TokenizerError.unsupported(file, field, _) {
                XCTAssertEqual(file, "t.json")
                return "unsupported \(field)"
            } catch let TokenizerError.malformed(_, field, _) {
                return "malformed \(field)"
            } catch {
                return "other \(error)"
            }
        }
        func setModel(_ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
            { j in var m = j["model"] as! [String: Any]; m[key] = value; j["model"] = m }
        }
        XCTAssertEqual(field { _ in }, nil)
        XCTAssertEqual(field(setModel("type", "WordPiece")), "unsupported model.type")
        XCTAssertEqual(field(setModel("dropout", 0.1)), "unsupported model.dropout")
        XCTAssertEqual(field(setModel("merges", [["Ġ", "no-such-token"]])), "malformed model.merges[0]")
        XCTAssertEqual(field(setModel("merges", ["a b c"])), "malformed model.merges[0]")
        XCTAssertEqual(field { $0["normalizer"] = ["type": "Lowercase"] }, "unsupported normalizer.type")
        XCTAssertEqual(field { $0["normalizer"] = ["type": "Sequence", "normalizers": [["type": "NFC"], ["type": "NFKD"]]] },
                       "unsupported normalizer.normalizers[1].type")
        XCTAssertEqual(field { j in
            var p = j["pre_tokenizer"] as! [String: Any]
            p["pretokenizers"] = [["type": "Whitespace"]] + (p["pretokenizers"] as! [Any])
            j["pre_tokenizer"] = p
        }, "unsupported pre_tokenizer.pretokenizers[0].type")
        XCTAssertEqual(field { $0["pre_tokenizer"] = ["type": "Split", "pattern": ["Regex": "\\s"], "behavior": "Isolated", "invert": false] },
                       "unsupported pre_tokenizer")
        XCTAssertEqual(field { $0["pre_tokenizer"] = ["type": "Split", "pattern": ["Regex": "(unclosed"], "behavior": "Isolated", "invert": false] },
                       "unsupported pre_tokenizer.pattern")
        XCTAssertEqual(field { $0["post_processor"] = ["type": "RobertaProcessing"] }, "unsupported post_processor.type")
        XCTAssertEqual(field { $0["decoder"] = ["type": "WordPiece"] }, "unsupported decoder.type")
        XCTAssertEqual(field { $0["truncation"] = ["max_length": 8] }, "unsupported truncation")
        XCTAssertEqual(field { $0["added_tokens"] = [["id": 0, "content": ""]] }, "malformed added_tokens[0].content")
        // A tokenizer_config.json naming a token the tokenizer lacks.
        XCTAssertThrowsError(try BPETokenizer(json: JSONSerialization.data(withJSONObject: base), config: Data(#"{"eos_token": "<nope>"}"#.utf8),
                                              configSource: "c.json")) {
            XCTAssertEqual($0 as? TokenizerError, .malformed(file: "c.json", field: "eos_token", detail: "<nope> is not a token of tokenizer.json"))
        }
    }

    /// The Split behaviours on one pattern, as the reference's SplitDelimiterBehavior defines them.
    func testSplitBehaviours() throws {
        let node = JSONNode(value: nil, path: "p", file: "f")
        func split(_ b: RegexSplit.Behavior) throws -> [String] { try RegexSplit(pattern: "-", behavior: b, field: node).split("a--b-c-") }
        XCTAssertEqual(try split(.Removed), ["a", "b", "c"])
        XCTAssertEqual(try split(.Isolated), ["a", "-", "-", "b", "-", "c", "-"])
        XCTAssertEqual(try split(.MergedWithPrevious), ["a-", "-", "b-", "c-"])
        XCTAssertEqual(try split(.MergedWithNext), ["a", "-", "-b", "-c", "-"])
        XCTAssertEqual(try split(.Contiguous), ["a", "--", "b", "-", "c", "-"])
    }
}
