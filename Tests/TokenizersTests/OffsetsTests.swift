import Foundation
import TestSupport
@testable import Tokenizers
import XCTest

/// `encodeWithOffsets`: the ids are `encode`'s, and each id's byte range is the text it came from.
final class OffsetsTests: XCTestCase {
    /// Texts that stress each step: non-NFC accents, added tokens with and without lstrip/rstrip,
    /// ZWJ emoji, CJK, code, digits, whitespace runs and empty lines.
    static let extras = [
        "Cafe\u{301} and e\u{301}te\u{301}, A\u{30A}ngstro\u{308}m, \u{1100}\u{1161}\u{11A8} (jamo)",
        "e\u{301}behavior_sum_then_check\u{301} and behavior_sum_then_check",
        "x [MASK]  y", "[MASK]", "  [MASK]\n", "a [MASK] [MASK] b", "\t[MASK]\t\n[MASK]",
        "<|im_start|>assistant\n思考中… 👩‍👩‍👧 👨🏽‍💻 done<|im_end|>\n<|im_start|>user\n",
        "<|begin_of_text|><|start_header_id|>assistant<|end_header_id|>\n\nx = 12345678901234567890<|eot_id|>",
        "func f(_ x: Int) -> Int {\n\treturn x &* 2 // double\n}\n\n\n",
        "\n\n\n   \t\t\n", " ", "", "a", "   trailing   ", "日本語のテキストと中文文本，还有한국어 텍스트。",
        "🏳️‍🌈🇫🇷❤️‍🔥", "\u{feff}BOM and \u{200b}zero width\u{200d}joiner",
        "<|user|> What is 7 × 8? <|assistant|> 56 <|end|>",
    ]

    static func bpeCorpus() throws -> [String] { try BPETokenizerTests.parity().corpus + extras }

    static func bpe(_ name: String) throws -> BPETokenizer {
        try BPETokenizer(contentsOf: BPETokenizerTests.folder(name).appendingPathComponent("tokenizer.json"))
    }

    /// What every tokenizer promises: encode's ids, one range per id, in bounds, in order, disjoint.
    func assertContract(_ tok: some Tokenizer, _ text: String, _ label: String,
                        file: StaticString = #filePath, line: UInt = #line) throws -> (ids: [Int32], offsets: [Range<Int>]) {
        let r = try tok.encodeWithOffsets(text)
        XCTAssertEqual(r.ids, try tok.encode(text), "\(label): ids of \(text.debugDescription)", file: file, line: line)
        XCTAssertEqual(r.offsets.count, r.ids.count, "\(label): one range per id", file: file, line: line)
        var previous = 0
        for range in r.offsets {
            XCTAssertTrue(previous <= range.lowerBound && range.upperBound <= text.utf8.count,
                          "\(label): \(range) out of order or out of \(text.debugDescription) (\(text.utf8.count) bytes)", file: file, line: line)
            previous = range.upperBound
        }
        return r
    }

    // MARK: BPE

    func testBPEIdsAreEncodesAndRangesTileTheText() throws {
        let corpus = try Self.bpeCorpus()
        for name in ["llama3", "qwen2"] {
            let tok = try Self.bpe(name)
            for text in corpus {
                let (_, offsets) = try assertContract(tok, text, name)
                // Byte-level BPE drops nothing: the ranges are contiguous and cover every byte.
                let bytes = Array(text.utf8)
                XCTAssertEqual(offsets.flatMap { bytes[$0] }, bytes, "\(name): ranges of \(text.debugDescription) do not tile it")
                XCTAssertEqual(offsets.first?.lowerBound ?? 0, 0)
                for (a, b) in zip(offsets, offsets.dropFirst()) where a.upperBound != b.lowerBound {
                    XCTFail("\(name): a gap or overlap between \(a) and \(b) in \(text.debugDescription)")
                }
            }
        }
    }

    /// Without a normalizer (Llama 3), and in text NFC leaves as it is, each token's range holds
    /// exactly the token's bytes; an added token's holds its content and what lstrip/rstrip took.
    func testBPETokenRangesHoldTheTokensBytes() throws {
        for name in ["llama3", "qwen2"] {
            let tok = try Self.bpe(name)
            var checked = 0
            for text in try Self.bpeCorpus() where name == "llama3" || Array(text.utf8) == Array(text.precomposedStringWithCanonicalMapping.utf8) {
                let bytes = Array(text.utf8)
                let (ids, offsets) = try tok.encodeWithOffsets(text)
                for (id, range) in zip(ids, offsets) {
                    let covered = Array(bytes[range])
                    if let added = tok.addedByID[id] {
                        let content = Array(added.content.utf8)
                        if added.lstrip || added.rstrip {
                            let trimmed = String(decoding: covered, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                            XCTAssertEqual(trimmed, added.content, "\(name): \(added.content) covers \(String(decoding: covered, as: UTF8.self).debugDescription)")
                        } else {
                            XCTAssertEqual(covered, content, "\(name): \(added.content) in \(text.debugDescription)")
                        }
                    } else {
                        let piece = try tok.piece(forID: id)
                        XCTAssertEqual(covered, ByteLevel.bytes(of: piece), "\(name): token \(piece) at \(range) of \(text.debugDescription)")
                    }
                    checked += 1
                }
            }
            XCTAssertGreaterThan(checked, 500, name)
        }
    }

    func testBPEStrippedAddedTokensCoverTheWhitespaceTheyTook() throws {
        let qwen = try Self.bpe("qwen2")
        let mask = try XCTUnwrap(qwen.id(forPiece: "[MASK]"))
        let text = "x [MASK]  y"
        let (ids, offsets) = try qwen.encodeWithOffsets(text)
        let i = try XCTUnwrap(ids.firstIndex(of: mask))
        // "x" 0..<1, then " [MASK]  " 1..<10 (lstrip and rstrip), then "y".
        XCTAssertEqual(offsets[i], 1..<10)
        XCTAssertEqual(Array(Array(text.utf8)[offsets[i]]), Array(" [MASK]  ".utf8))
        XCTAssertEqual(offsets.last, 10..<11)
    }

    /// Qwen2 normalises to NFC: the tokens hold NFC bytes, the ranges point into the raw text.
    /// A Character NFC changed is covered whole by the token holding its first byte; one it left
    /// alone maps byte for byte.
    func testBPERangesMapThroughTheNormalizerToTheRawText() throws {
        let qwen = try Self.bpe("qwen2")
        // [MASK]'s range holds the whitespace it took, which no token holds.
        for text in try Self.bpeCorpus() where !text.contains("[MASK]") {
            let raw = Array(text.utf8)
            let (ids, offsets) = try assertContract(qwen, text, "qwen2")
            // Character boundaries of the raw text, in bytes.
            var boundaries: Set<Int> = [0]
            var at = 0
            for c in text { at += c.utf8.count; boundaries.insert(at) }
            // What the tokens hold up to and including token k is a prefix of NFC of the raw
            // text up to the end of k's range: a token never covers less than it holds.
            var held: [UInt8] = []
            for (id, range) in zip(ids, offsets) {
                held += try qwen.addedByID[id].map { Array($0.content.utf8) } ?? XCTUnwrap(ByteLevel.bytes(of: qwen.piece(forID: id)))
                guard boundaries.contains(range.upperBound), qwen.addedByID[id] == nil else { continue }
                let nfc = Array(String(decoding: raw[..<range.upperBound], as: UTF8.self).precomposedStringWithCanonicalMapping.utf8)
                XCTAssertTrue(nfc.starts(with: held), "qwen2: tokens up to \(range) hold more than NFC of \(text.debugDescription) up to there")
            }
        }
        // "e" + U+0301 (3 raw bytes) is "é" (2 NFC bytes): the token holding é's first byte covers
        // all three raw bytes, and the ranges after it are unshifted.
        let text = "Cafe\u{301} ok"
        let (ids, offsets) = try qwen.encodeWithOffsets(text)
        var held = 0
        var covering: Range<Int>?
        for (id, range) in zip(ids, offsets) {
            let count = try XCTUnwrap(ByteLevel.bytes(of: qwen.piece(forID: id))).count
            if held <= 3, 3 < held + count { covering = range }
            held += count
        }
        let c = try XCTUnwrap(covering)
        XCTAssertTrue(c.contains(3) && c.contains(5), "the token holding é covers \(c), not the raw e + U+0301 at 3..<6")
        let okStart = text.utf8.count - 3
        XCTAssertTrue(offsets.contains { $0.upperBound == okStart }, "a token ends where \" ok\" starts (\(okStart)): \(offsets)")
    }

    /// A byte-level token that ends inside a UTF-8 character covers the bytes it holds.
    func testBPETokensSplittingACharacterCoverTheirBytes() throws {
        let llama = try Self.bpe("llama3")
        let text = "👩‍👩‍👧 数学"
        let (ids, offsets) = try llama.encodeWithOffsets(text)
        let bytes = Array(text.utf8)
        var splitsACharacter = false
        for (id, range) in zip(ids, offsets) {
            XCTAssertEqual(Array(bytes[range]), ByteLevel.bytes(of: try llama.piece(forID: id)))
            if range.upperBound < bytes.count, bytes[range.upperBound] & 0xC0 == 0x80 { splitsACharacter = true }
        }
        XCTAssertTrue(splitsACharacter, "the fixture's small vocabulary should split some character of \(text) across tokens")
    }

    /// add_prefix_space's space is no text of the input: the token holding only it has an empty range.
    func testBPEPrefixSpaceCoversNothing() throws {
        let url = BPETokenizerTests.folder("llama3").appendingPathComponent("tokenizer.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        json["pre_tokenizer"] = ["type": "ByteLevel", "add_prefix_space": true, "use_regex": true]
        let tok = try BPETokenizer(json: JSONSerialization.data(withJSONObject: json))
        for text in try Self.bpeCorpus() {
            let (ids, offsets) = try assertContract(tok, text, "prefix space")
            let bytes = Array(text.utf8)
            // Each range holds the token's bytes, or them less the added leading space.
            for (id, range) in zip(ids, offsets) where tok.addedByID[id] == nil {
                let held = try XCTUnwrap(ByteLevel.bytes(of: tok.piece(forID: id)))
                let covered = Array(bytes[range])
                XCTAssertTrue(covered == held || (held.first == 0x20 && covered == Array(held.dropFirst())),
                              "token \(held) covers \(covered) in \(text.debugDescription)")
            }
        }
        let (ids, offsets) = try tok.encodeWithOffsets("hi")
        XCTAssertEqual(try tok.decode(ids), " hi")
        XCTAssertEqual(offsets.first?.lowerBound, 0)
        XCTAssertEqual(offsets.last?.upperBound, 2)
    }

    // MARK: SentencePiece

    static func spCorpus() throws -> [String] { try Fixture.parityLines() + extras }

    func testSentencePieceIdsAreEncodesAndRangesInOrder() throws {
        let tok = try SentencePieceTokenizer(contentsOf: Fixture.referenceModel)
        for text in try Self.spCorpus() { _ = try assertContract(tok, text, "reference.model") }
    }

    /// With bcsft's trainer defaults (identity normalisation, whitespace kept, byte fallback), the
    /// text under each piece is the piece with ▁ as a space; the first piece's leading ▁ is the
    /// dummy prefix, which covers nothing; byte-fallback pieces cover nothing until the last byte
    /// of their character, which covers all of it.
    func testSentencePieceRangesHoldThePieces() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = repoRoot.appendingPathComponent("data/smoke/corpus.txt")
        for type in [SentencePieceTrainer.ModelType.unigram, .bpe] {
            var trainer = SentencePieceTrainer(vocabularySize: 500, modelType: type)
            trainer.userDefinedSymbols = ["<|user|>", "<|assistant|>", "<|end|>"]
            let tok = try trainer.train(inputs: [corpus], output: dir.appendingPathComponent("\(type.rawValue).model"))
            var bytePieces = 0, dummies = 0
            for text in try Self.spCorpus() {
                let (ids, offsets) = try assertContract(tok, text, type.rawValue)
                let bytes = Array(text.utf8)
                var pending: [UInt8] = []
                for (i, (id, range)) in zip(ids, offsets).enumerated() {
                    let piece = try tok.piece(forID: id)
                    let covered = Array(bytes[range])
                    if piece.hasPrefix("<0x"), piece.count == 6, let b = UInt8(piece.dropFirst(3).dropLast(), radix: 16) {
                        bytePieces += 1
                        pending.append(b)
                        if !range.isEmpty {
                            XCTAssertEqual(covered, pending, "\(type): byte pieces at \(range) of \(text.debugDescription)")
                            pending = []
                        }
                        continue
                    }
                    XCTAssertEqual(pending, [], "\(type): byte pieces covering nothing before \(piece) in \(text.debugDescription)")
                    var expected = Array(piece.replacingOccurrences(of: "▁", with: " ").utf8)
                    if i == 0, expected.first == 0x20 {
                        expected.removeFirst()
                        dummies += 1
                    }
                    XCTAssertEqual(String(decoding: covered, as: UTF8.self), String(decoding: expected, as: UTF8.self),
                                   "\(type): piece \(piece) at \(range) of \(text.debugDescription)")
                }
                XCTAssertEqual(pending, [], "\(type): trailing byte pieces cover nothing in \(text.debugDescription)")
                // Whitespace is kept, so the pieces cover every byte, in order.
                XCTAssertEqual(offsets.flatMap { bytes[$0] }, bytes, "\(type): ranges of \(text.debugDescription) do not tile it")
            }
            XCTAssertGreaterThan(bytePieces, 0, "\(type): the corpus should reach byte fallback")
            XCTAssertGreaterThan(dummies, 0, "\(type): the corpus should show the dummy prefix")
            // The lone dummy prefix has an empty range at its position.
            if let lone = tok.id(forPiece: "▁") {
                let (ids, offsets) = try tok.encodeWithOffsets("<|user|>hi")
                if ids.first == lone { XCTAssertEqual(offsets.first, 0..<0, "\(type): \(ids) \(offsets)") }
            }
        }
    }

    /// SentencePiece's NFKC normaliser and whitespace collapsing: the ranges are still in the
    /// raw text, every byte that is not whitespace is under one, and a text with more pieces than
    /// bytes comes back through the shim's retry.
    func testSentencePieceRangesThroughItsNormalizer() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var trainer = SentencePieceTrainer(vocabularySize: 500)
        trainer.normalization = "nmt_nfkc"
        trainer.removeExtraWhitespaces = true
        let tok = try trainer.train(inputs: [repoRoot.appendingPathComponent("data/smoke/corpus.txt")], output: dir.appendingPathComponent("nfkc.model"))
        // U+337F (3 bytes) is NFKC "株式会社": four characters the corpus lacks, so many byte pieces.
        for text in try Self.spCorpus() + ["\u{337F}", "ﬁ café  \u{337F}\u{337F}"] {
            let (ids, offsets) = try assertContract(tok, text, "nfkc")
            let bytes = Array(text.utf8)
            var covered = [Bool](repeating: false, count: bytes.count)
            for r in offsets { for i in r { covered[i] = true } }
            let scalarsUncovered = String(decoding: bytes.indices.filter { !covered[$0] }.map { bytes[$0] }, as: UTF8.self)
            XCTAssertTrue(scalarsUncovered.unicodeScalars.allSatisfy { $0.properties.isWhitespace || $0.properties.isDefaultIgnorableCodePoint },
                          "nfkc: \(scalarsUncovered.debugDescription) of \(text.debugDescription) is under no piece")
            if text == "\u{337F}" { XCTAssertGreaterThan(ids.count, bytes.count + 1, "the retry path is not exercised") }
        }
    }
}
