import Datasets
import Evaluation
import Foundation
import Pipelines
import Recipes
import Settings
import Stages
import TestSupport
import Training
import World
import XCTest

/// Every step exists as a command and as a recipe stage kind; both fill the same library
/// settings type. These tests read each command's options as ArgumentParser describes them
/// (`--experimental-dump-help`) and each stage kind's keys and inputs, and fail on any
/// difference in name, default or validation message.
final class SettingsParityTests: XCTestCase {
    /// A command and its stage kind; `inputs` maps a flag to the stage input it stands for,
    /// `commandOnly` lists flags that have no stage counterpart, with the reason.
    struct Pair {
        let command: [String]
        let kind: String
        let defaults: SettingValue
        var inputs: [String: String] = [:]
        var commandOnly: [String: String] = [:]
        /// Flags, besides the bad one, that a command needs to get as far as checking settings.
        var required: [String] = []
        /// Settings a stage needs besides the bad one.
        var stageRequired: [String: SettingValue] = [:]
    }

    static let caching = ["cache": "a stage's responses go to its run's shared cache", "no-cache": "see cache"]
    static let output = "a stage writes into its own folder"

    static let modelStep: [String: String] = ["problems": "problems", "checkpoint": "checkpoint"]
    static let scripted: [String] = ["--problems", "/nonexistent.jsonl", "--out", "/nonexistent/out", "--backend", "scripted"]
    static let scriptedStage: [String: SettingValue] = ["backend": ["kind": "scripted"]]

    static let pairs: [Pair] = [
        Pair(command: ["world"], kind: "world", defaults: WorldSettings.defaults, commandOnly: ["out": output], required: ["--out", "/nonexistent"]),
        Pair(command: ["extract"], kind: "extract", defaults: ExtractSettings.defaults, inputs: modelStep,
             commandOnly: caching.merging(["out": output, "handbook": "the handbook file a command creates or merges into; a stage writes handbook.jsonl"]) { a, _ in a },
             required: scripted + ["--handbook", "/nonexistent/h.jsonl"], stageRequired: scriptedStage),
        Pair(command: ["solve"], kind: "solve", defaults: SolveSettings.defaults, inputs: modelStep.merging(["handbook": "handbook"]) { a, _ in a },
             commandOnly: caching.merging(["out": output, "record-uses": "rewrites the handbook file; a stage never writes its inputs"]) { a, _ in a },
             required: scripted, stageRequired: scriptedStage),
        Pair(command: ["improve"], kind: "improve", defaults: ImproveSettings.defaults, inputs: modelStep,
             commandOnly: caching.merging(["out": output]) { a, _ in a }, required: scripted, stageRequired: scriptedStage),
        Pair(command: ["generate"], kind: "generate", defaults: GenerateSettings.defaults, inputs: modelStep.merging(["handbook": "handbook"]) { a, _ in a },
             commandOnly: caching.merging(["out": output, "record-uses": "rewrites the handbook file; a stage never writes its inputs"]) { a, _ in a },
             required: scripted, stageRequired: scriptedStage),
        Pair(command: ["eval"], kind: "eval", defaults: EvalSettings.defaults, inputs: modelStep.merging(["handbook": "handbook"]) { a, _ in a },
             commandOnly: caching.merging(["out": output, "record-uses": "rewrites the handbook file; a stage never writes its inputs"]) { a, _ in a },
             required: scripted, stageRequired: scriptedStage),
        Pair(command: ["tokenizer", "train"], kind: "tokenizer", defaults: TokenizerSettings.defaults, inputs: ["corpus": "corpus"],
             commandOnly: ["output": output], required: ["--corpus", "/nonexistent.jsonl", "--output", "/nonexistent/t.model", "--vocab-size", "512"],
             stageRequired: ["vocab_size": 512]),
        Pair(command: ["dataset", "build"], kind: "dataset", defaults: DatasetSettings.defaults, inputs: ["records": "records", "tokenizer": "tokenizer", "match": "match"],
             commandOnly: ["output": output], required: ["--records", "/nonexistent.jsonl", "--tokenizer", "/nonexistent.model", "--output", "/nonexistent/d", "--seq-len", "64"],
             stageRequired: ["seq_len": 64]),
        Pair(command: ["report"], kind: "report", defaults: ReportSettings.defaults, inputs: ["runs": "runs"],
             commandOnly: ["out": output, "metrics": "a stage finds each run's training log itself"]),
    ]

    /// A bad value for each key that has a check, as a flag's text and as a recipe value.
    static let badValues: [String: (flag: String, value: SettingValue)] = [
        "temperature": ("-1", -1), "top_p": ("0", 0), "top_k": ("-1", -1), "max_tokens": ("0", 0), "limit": ("0", 0),
        "min_p": ("1", 1), "repetition_penalty": ("0", 0),
        "samples": ("0", 0), "k": ("0", 0), "budgets": ("0", [0]), "merge_similar": ("2", 2), "test": ("0", 0),
        "seq_len": ("4", 4), "val_fraction": ("1.5", 1.5), "vocab_size": ("10", 10), "threads": ("0", 0),
        "backend.timeout": ("0", 0), "backend.max_in_flight": ("0", 0), "backend.stream": ("sometimes", "sometimes"), "model_type": ("sentences", "sentences"),
        "retrieval": ("nearest", "nearest"), "prompt_style": ("chat", "chat"),
        "embedding.base_url": ("http://user:secret@127.0.0.1:8001/v1", "http://user:secret@127.0.0.1:8001/v1"),
    ]

    struct Option {
        let names: [String]
        let kind: String
        let defaultValue: String?
        let help: String
        let isOptional: Bool
    }

    func options(_ command: [String]) throws -> [Option] {
        let (status, out, err) = try runProcess(try bcsftExecutable(), command + ["--experimental-dump-help"])
        XCTAssertEqual(status, 0, err)
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let cmd = try XCTUnwrap(root["command"] as? [String: Any])
        return (cmd["arguments"] as? [[String: Any]] ?? []).compactMap { a in
            // A positional argument is named by its value name.
            let names = (a["names"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? [a["valueName"] as? String ?? ""]
            guard !names.contains("help") else { return nil }
            return Option(names: names, kind: a["kind"] as? String ?? "", defaultValue: a["defaultValue"] as? String,
                          help: a["abstract"] as? String ?? "", isOptional: a["isOptional"] as? Bool ?? true)
        }
    }

    /// A flag's setting key: `--max-tokens` is max_tokens; the backend flags sit under
    /// `backend` in a step that asks a model (`--template` is a dataset's `template` and a local
    /// backend's `backend.template`: one concept, the chat template); the embedding server's
    /// flags are `--embed-` and the key under `embedding`.
    static func key(forFlag flag: String, hasBackend: Bool = true) -> String {
        let k = flag.replacingOccurrences(of: "-", with: "_")
        if k == "backend" { return "backend.kind" }
        if k.hasPrefix("embed_") { return "embedding." + k.dropFirst("embed_".count) }
        return hasBackend && Backend.keys.contains(k) ? "backend." + k : k
    }

    /// The flag of a setting key (the inverse of `key(forFlag:)`).
    static func flag(forKey key: String) -> String {
        let parts = key.split(separator: ".").map(String.init)
        let name = switch (parts.first, parts.last) {
        case ("backend", "kind"): "backend"
        case ("embedding", let k?) where parts.count == 2: "embed_" + k
        case (_, let k?): k
        default: key
        }
        return "--" + name.replacingOccurrences(of: "_", with: "-")
    }

    /// The groups a step's settings hold, and their keys.
    static let groups: [String: [String]] = ["backend": Backend.keys, "embedding": EmbeddingSettings.keys]

    func kind(_ name: String) throws -> any StageKind { try XCTUnwrap(StageRegistry.standard[name], name) }

    /// The stage's keys, the groups (`backend`, `embedding`) spelled out.
    func stageKeys(_ kind: any StageKind) -> Set<String> {
        Set(kind.settingKeys.flatMap { g in Self.groups[g].map { $0.map { g + "." + $0 } } ?? [g] })
    }

    func testEachCommandTakesTheSettingsOfItsStageUnderTheSameNames() throws {
        for pair in Self.pairs {
            let opts = try options(pair.command)
            var settings = Set<String>(), inputs = Set<String>()
            for o in opts {
                // An inverted flag (--no-truncate) is the same setting as --truncate.
                guard let name = o.names.first, !(name.hasPrefix("no-") && opts.contains { $0.names.contains(String(name.dropFirst(3))) }) else { continue }
                if pair.commandOnly[name] != nil { continue }
                if let input = pair.inputs[name] { inputs.insert(input); continue }
                settings.insert(Self.key(forFlag: name, hasBackend: try kind(pair.kind).settingKeys.contains("backend")))
            }
            let kind = try kind(pair.kind)
            XCTAssertEqual(settings, stageKeys(kind), "bcsft \(pair.command.joined(separator: " ")) vs kind \(pair.kind): settings")
            XCTAssertEqual(inputs, kind.inputNames ?? [], "bcsft \(pair.command.joined(separator: " ")) vs kind \(pair.kind): inputs")
        }
    }

    func testDefaultsLiveInTheLibraryAndTheHelpShowsThem() throws {
        for pair in Self.pairs {
            for o in try options(pair.command) {
                guard let name = o.names.first, pair.commandOnly[name] == nil, pair.inputs[name] == nil, !name.hasPrefix("no-") else { continue }
                let key = Self.key(forFlag: name, hasBackend: try kind(pair.kind).settingKeys.contains("backend"))
                // The command holds no default of its own (a repeatable option starts empty); a
                // required flag has none anywhere.
                XCTAssertTrue(o.defaultValue == nil || o.defaultValue == "[]", "--\(name) of bcsft \(pair.command.joined(separator: " ")) has its own default \(o.defaultValue!)")
                guard o.isOptional else { continue }
                let parts = key.split(separator: ".").map(String.init)
                let groupDefaults = parts.count == 2 ? (parts[0] == "embedding" ? EmbeddingSettings.defaults : Backend.defaults) : pair.defaults
                guard let d = groupDefaults[parts.last!], d != .null, d != .list([]), d != .map([:]) else { continue }
                let text: String = if case let .list(xs) = d { xs.compactMap(\.scalarText).joined(separator: ",") } else { d.scalarText ?? "" }
                XCTAssertTrue(o.help.hasSuffix("(default: \(text))"), "--\(name) of bcsft \(pair.command.joined(separator: " ")): help '\(o.help)' lacks the library's default \(text)")
            }
        }
    }

    func testACommandAndItsStageRejectABadValueWithTheSameMessage() throws {
        var checked = 0
        for pair in Self.pairs {
            let kind = try kind(pair.kind)
            let keys = stageKeys(kind)
            let inputs = StageInputs(stage: "s", paths: Dictionary(uniqueKeysWithValues: (kind.inputNames ?? []).filter { $0 != "checkpoint" }.map {
                ($0, [URL(fileURLWithPath: "/nonexistent/\($0)")])
            }))
            for (key, bad) in Self.badValues where keys.contains(key) {
                var values = pair.stageRequired
                let parts = key.split(separator: ".").map(String.init)
                if parts.count == 2 {
                    var group: [String: SettingValue] = [:]
                    if case let .map(m)? = values[parts[0]] { group = m }
                    group[parts[1]] = bad.value
                    values[parts[0]] = .map(group)
                } else {
                    values[key] = bad.value
                }
                // The stage's message.
                var stageMessage = ""
                do { try kind.validate(StageSettings(stage: "s", values: values), inputs: inputs) } catch { stageMessage = error.localizedDescription }
                guard let range = stageMessage.range(of: "stages.s.settings.\(key): ") else {
                    XCTFail("kind \(pair.kind), \(key)=\(bad.value): '\(stageMessage)' does not name the setting")
                    continue
                }
                let reason = String(stageMessage[range.upperBound...])
                // The command's message, for the same value.
                let flag = String(Self.flag(forKey: key).dropFirst(2))
                let (status, _, err) = try runProcess(try bcsftExecutable(), pair.command + pair.required + ["--\(flag)=\(bad.flag)"])
                XCTAssertNotEqual(status, 0, "bcsft \(pair.command.joined(separator: " ")) --\(flag) \(bad.flag)")
                XCTAssertTrue(err.contains("\(key) (--\(flag)): \(reason)") || err.contains("--\(flag)") && err.contains(reason),
                              "bcsft \(pair.command.joined(separator: " ")) --\(flag) \(bad.flag): '\(err.prefix(400))' vs the stage's '\(reason)'")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 40)
    }

    /// Embedding retrieval and merge_similar need an embedding server: with a chat backend and
    /// no `embedding` group, a command and its stage both stop at the settings, naming the key
    /// (the chat server is never asked for embeddings). The scripted backend has its own.
    func testEmbeddingWithoutAnEmbeddingServerNamesTheSetting() throws {
        let chat: SettingValue = ["kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"]
        let chatFlags = ["--problems", "/nonexistent.jsonl", "--out", "/nonexistent/out", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]
        let cases: [(command: [String], kind: String, values: [String: SettingValue], flags: [String], use: String)] = [
            (["solve"], "solve", ["retrieval": "embedding"], ["--retrieval", "embedding"], "embedding retrieval"),
            (["eval"], "eval", ["retrieval": "embedding"], ["--retrieval", "embedding"], "embedding retrieval"),
            (["generate"], "generate", ["retrieval": "embedding"], ["--retrieval", "embedding"], "embedding retrieval"),
            (["extract"], "extract", ["merge_similar": 0.9], ["--merge-similar", "0.9", "--handbook", "/nonexistent/h.jsonl"], "merge_similar"),
        ]
        let inputs = StageInputs(stage: "s", paths: ["problems": [URL(fileURLWithPath: "/nonexistent/problems")]])
        for c in cases {
            let kind = try kind(c.kind)
            func stageError(_ values: [String: SettingValue]) -> String {
                do { try kind.validate(StageSettings(stage: "s", values: values), inputs: inputs) } catch { return error.localizedDescription }
                return ""
            }
            func commandError(_ flags: [String]) throws -> String {
                let (status, _, err) = try runProcess(try bcsftExecutable(), c.command + flags)
                XCTAssertNotEqual(status, 0, "bcsft \(c.command[0]) \(flags)")
                return err
            }
            let reason = "missing: \(c.use) needs an embedding server"
            var values = c.values
            values["backend"] = chat
            XCTAssertTrue(stageError(values).contains("stages.s.settings.embedding.base_url: \(reason)"), "kind \(c.kind): \(stageError(values))")
            let err = try commandError(chatFlags + c.flags)
            XCTAssertTrue(err.contains("embedding.base_url (--embed-base-url): \(reason)"), "bcsft \(c.kind): \(err.prefix(400))")

            // A named server needs its model.
            values["embedding"] = ["base_url": "http://127.0.0.1:8001/v1"]
            XCTAssertTrue(stageError(values).contains("stages.s.settings.embedding.model: missing"), "kind \(c.kind): \(stageError(values))")
            XCTAssertTrue(try commandError(chatFlags + c.flags + ["--embed-base-url", "http://127.0.0.1:8001/v1"]).contains("embedding.model (--embed-model): missing"))
            // Named in full, the settings pass.
            values["embedding"] = ["base_url": "http://127.0.0.1:8001/v1", "model": "bge-m3"]
            XCTAssertEqual(stageError(values), "", "kind \(c.kind)")
            // The scripted world has its own embedding.
            values = c.values
            values["backend"] = ["kind": "scripted"]
            XCTAssertEqual(stageError(values), "", "kind \(c.kind)")
        }
    }

    /// `bcsft train` reads a configuration whose keys are the train stage's settings plus the
    /// data and output the stage fills; `--nproc` is the key nproc; `--dry-run` and its
    /// `--device-memory` are the command's own (they print the memory plan, for this machine or a
    /// GPU of that size, and train nothing; the stage checks the same plan before loading).
    func testTrainConfigurationAndStageShareTheirKeys() throws {
        let kind = try kind("train")
        XCTAssertEqual(kind.settingKeys.union(["data", "output"]), Set(TrainConfig.keys))
        let flags = Set(try options(["train"]).compactMap(\.names.first))
        XCTAssertEqual(flags, ["config", "set", "resume", "resume-from", "nproc", "dry-run", "device-memory"])
        XCTAssertTrue(kind.settingKeys.contains("nproc"))
    }
}
