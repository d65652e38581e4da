import Datasets
import Foundation
import Tokenizers
import XCTest

/// `bcsft dataset build` / `inspect` and `tokenizer train` on records, as a user runs them.
final class DatasetCLITests: XCTestCase {
    func testTrainBuildInspectFromTheShell() throws {
        let exe = try bcsftExecutable()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("sft.jsonl")
        try writeJSONL(try records(80).map { try $0.jsonLine() }, to: input)
        let tok = dir.appendingPathComponent("tok.model").path
        var r = try runProcess(exe, ["tokenizer", "train", "--corpus", input.path, "--vocab-size", "400", "--output", tok])
        XCTAssertEqual(r.0, 0, r.2)
        r = try runProcess(exe, ["dataset", "build", "--records", input.path, "--tokenizer", tok, "--seq-len", "256",
                                 "--output", dir.appendingPathComponent("ds").path, "--val-fraction", "0.1"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.1.contains("80 read"), r.1)
        XCTAssertFalse(r.1.contains("match "), "no match files, no match line")
        // --match: only records whose question is also in the other file; the summary says how many went.
        let other = dir.appendingPathComponent("other.jsonl")
        try writeJSONL(try records(80).prefix(50).map { try $0.jsonLine() }, to: other)
        let matched = try runProcess(exe, ["dataset", "build", "--records", input.path, "--match", other.path, "--tokenizer", tok,
                                           "--seq-len", "256", "--output", dir.appendingPathComponent("matched").path])
        XCTAssertEqual(matched.0, 0, matched.2)
        XCTAssertTrue(matched.1.contains("dropped: not in every match file") && matched.1.contains(other.path), matched.1)
        let m = try Manifest.load(from: dir.appendingPathComponent("matched"))
        XCTAssertEqual(m.match?.keptQuestions, Set(try records(80).prefix(50).map { try SFTRecord.parse(Data($0.jsonLine().utf8)).question }).count)
        r = try runProcess(exe, ["dataset", "inspect", dir.appendingPathComponent("ds").path, "--rows", "2", "--json"])
        XCTAssertEqual(r.0, 0, r.2)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.1.utf8)) as? [String: Any])
        let rows = try XCTUnwrap(json["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 2)
        let spans = try XCTUnwrap((rows[0]["documents"] as? [[String: Any]])?.first?["spans"] as? [[String: Any]])
        XCTAssertEqual(spans.first?["loss"] as? Bool, false, "a document opens with its untrained prompt")
        XCTAssertTrue((spans.first?["text"] as? String ?? "").hasPrefix("<s><|"), "markers are single pieces of the trained tokenizer")
        XCTAssertTrue(spans.contains { ($0["loss"] as? Bool) == true && ($0["text"] as? String ?? "").hasSuffix("</s>") })
        r = try runProcess(exe, ["dataset", "inspect", dir.appendingPathComponent("ds").path, "--rows", "1"])
        XCTAssertTrue(r.1.contains("⟦") && r.1.contains("packing"), "without a terminal, loss spans are bracketed: \(r.1)")
    }

    func testBadLineStopsTheBuildWithFileAndLine() throws {
        let exe = try bcsftExecutable()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("sft.jsonl")
        var lines = try records(5).map { try $0.jsonLine() }
        lines.insert(#"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant"}]}"#, at: 2)
        try writeJSONL(lines, to: input)
        let tok = try TestTokenizer.get()
        let model = dir.appendingPathComponent("t.model")
        try XCTUnwrap(tok.files["tokenizer.model"]).write(to: model)
        var r = try runProcess(exe, ["dataset", "build", "--records", input.path, "--tokenizer", model.path, "--seq-len", "256",
                                     "--output", dir.appendingPathComponent("ds").path])
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("sft.jsonl:3: messages[1].content: missing or not a string"), r.2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("ds").path), "nothing half-written")
        r = try runProcess(exe, ["dataset", "build", "--records", input.path, "--tokenizer", model.path, "--seq-len", "256",
                                 "--output", dir.appendingPathComponent("ds").path, "--skip-invalid"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.1.contains("skipped: 1 invalid"), r.1)
    }

    /// --tokenizer takes a Hugging Face model folder: the dataset keeps tokenizer.json and
    /// tokenizer_config.json, and they load back as the same tokenizer with its BOS/EOS.
    func testBuildFromABPEModelFolder() throws {
        let exe = try bcsftExecutable()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("sft.jsonl")
        try writeJSONL(try records(20).map { try $0.jsonLine() }, to: input)
        let folder = repoRoot.appendingPathComponent("Tests/TokenizersTests/Fixtures/bpe/llama3")
        let source = try loadTokenizer(at: folder)
        let ds = dir.appendingPathComponent("ds")
        // bcsft's template needs its markers as single tokens; this vocabulary has none of them.
        var r = try runProcess(exe, ["dataset", "build", "--records", input.path, "--tokenizer", folder.path, "--seq-len", "256", "--output", ds.path])
        XCTAssertNotEqual(r.0, 0)
        XCTAssertTrue(r.2.contains("the tokenizer has no piece '<|") && r.2.contains("chat template 'bcsft'"), r.2)
        r = try runProcess(exe, ["dataset", "build", "--records", input.path, "--tokenizer", folder.path, "--seq-len", "256", "--output", ds.path,
                                 "--template", "llama2"])
        XCTAssertEqual(r.0, 0, r.2)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: ds.path))
        XCTAssertTrue(names.isSuperset(of: ["tokenizer.json", "tokenizer_config.json"]), "\(names)")
        XCTAssertFalse(names.contains("tokenizer.model"))
        let data = try PackedDataset(directory: ds, tokenizerSHA256: source.sha256)
        let copy = try data.tokenizer()
        XCTAssertTrue(copy is BPETokenizer)
        XCTAssertEqual(copy.sha256, source.sha256)
        XCTAssertEqual(copy.bosID, source.bosID)
        XCTAssertEqual(copy.eosID, source.eosID)
        var files = try data.tokenizerFiles()
        XCTAssertEqual(String(decoding: try XCTUnwrap(files.removeValue(forKey: "chat_template.jinja")), as: UTF8.self),
                       try ChatEncoder(setting: "llama2", tokenizer: source, modelFolder: folder).template.source)
        XCTAssertNotNil(files.removeValue(forKey: "bcsft_chat_template.json"))
        XCTAssertEqual(files, source.files, "what a checkpoint trained on it copies: the tokenizer and the chat template")
        r = try runProcess(exe, ["dataset", "inspect", ds.path, "--rows", "1"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.1.contains("[INST]"), r.1)

        // template auto: the folder's own (Qwen3's, with enable_thinking passed through).
        let qwen3 = repoRoot.appendingPathComponent("Tests/DatasetsTests/Fixtures/chat/qwen3")
        r = try runProcess(exe, ["dataset", "build", "--records", input.path, "--tokenizer", qwen3.path, "--seq-len", "256", "--output", ds.path,
                                 "--template", "auto", "--template-vars", "enable_thinking=false"])
        XCTAssertEqual(r.0, 0, r.2)
        let record = try JSONDecoder().decode(ChatTemplateRecord.self, from: Data(contentsOf: ds.appendingPathComponent("bcsft_chat_template.json")))
        XCTAssertEqual(record.template, "chat_template.jinja")
        XCTAssertEqual(record.variables, ["enable_thinking": .bool(false)])
        r = try runProcess(exe, ["dataset", "inspect", ds.path, "--rows", "1"])
        XCTAssertTrue(r.1.contains("<|im_start|>assistant"), r.1)
        r = try runProcess(exe, ["dataset", "build", "--records", input.path, "--tokenizer", qwen3.path, "--seq-len", "256", "--output", ds.path,
                                 "--template-vars", "oops"])
        XCTAssertTrue(r.2.contains("--template-vars 'oops': expected KEY=VALUE"), r.2)
    }

    /// A folder holding a SentencePiece tokenizer.model builds as the file itself does.
    func testBuildFromASentencePieceFolder() throws {
        let exe = try bcsftExecutable()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("sft.jsonl")
        try writeJSONL(try records(20).map { try $0.jsonLine() }, to: input)
        let tok = try TestTokenizer.get()
        let folder = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, bytes) in tok.files { try bytes.write(to: folder.appendingPathComponent(name)) }
        let ds = dir.appendingPathComponent("ds")
        let r = try runProcess(exe, ["dataset", "build", "--records", input.path, "--tokenizer", folder.path, "--seq-len", "256", "--output", ds.path])
        XCTAssertEqual(r.0, 0, r.2)
        let copy = try PackedDataset(directory: ds, tokenizerSHA256: tok.sha256).tokenizer()
        XCTAssertTrue(copy is SentencePieceTokenizer)
        XCTAssertEqual(copy.sha256, tok.sha256)
        XCTAssertTrue(FileManager.default.fileExists(atPath: ds.appendingPathComponent("tokenizer.model").path))
    }
}
