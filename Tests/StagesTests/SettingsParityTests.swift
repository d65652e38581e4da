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
        "samples": ("0", 0), "k": ("0", 0), "budgets": ("0", [0]), "merge_similar": ("2", 2), "test": ("0", 0),
        "seq_len": ("4", 4), "val_fraction": ("1.5", 1.5), "vocab_size": ("10", 10), "threads": ("0", 0),
        "backend.timeout": ("0", 0), "backend.max_in_flight": ("0", 0), "model_type": ("sentences", "sentences"),
        "retrieval": ("nearest", "nearest"), "prompt_style": ("chat", "chat"),
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

    /// A flag's setting key: `--max-tokens` is max_tokens; the backend flags sit under `backend`.
    static func key(forFlag flag: String) -> String {
        let k = flag.replacingOccurrences(of: "-", with: "_")
        if k == "backend" { return "backend.kind" }
        return Backend.keys.contains(k) ? "backend." + k : k
    }

    func kind(_ name: String) throws -> any StageKind { try XCTUnwrap(StageRegistry.standard[name], name) }

    /// The stage's keys, the `backend` group spelled out.
    func stageKeys(_ kind: any StageKind) -> Set<String> {
        Set(kind.settingKeys.flatMap { $0 == "backend" ? Backend.keys.map { "backend." + $0 } : [$0] })
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
                settings.insert(Self.key(forFlag: name))
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
                let key = Self.key(forFlag: name)
                // The command holds no default of its own (a repeatable option starts empty); a
                // required flag has none anywhere.
                XCTAssertTrue(o.defaultValue == nil || o.defaultValue == "[]", "--\(name) of bcsft \(pair.command.joined(separator: " ")) has its own default \(o.defaultValue!)")
                guard o.isOptional else { continue }
                let parts = key.split(separator: ".").map(String.init)
                let groupDefaults = parts.count == 2 ? Backend.defaults : pair.defaults
                guard let d = groupDefaults[parts.last!], d != .null, d != .list([]) else { continue }
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
                    guard case var .map(group)? = values[parts[0]] else { XCTFail(key); continue }
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
                let flag = parts.count == 2 ? (parts[1] == "kind" ? "backend" : parts[1].replacingOccurrences(of: "_", with: "-")) : key.replacingOccurrences(of: "_", with: "-")
                let (status, _, err) = try runProcess(try bcsftExecutable(), pair.command + pair.required + ["--\(flag)=\(bad.flag)"])
                XCTAssertNotEqual(status, 0, "bcsft \(pair.command.joined(separator: " ")) --\(flag) \(bad.flag)")
                XCTAssertTrue(err.contains("\(key) (--\(flag)): \(reason)") || err.contains("--\(flag)") && err.contains(reason),
                              "bcsft \(pair.command.joined(separator: " ")) --\(flag) \(bad.flag): '\(err.prefix(400))' vs the stage's '\(reason)'")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 40)
    }

    /// `bcsft train` reads a configuration whose keys are the train stage's settings plus the
    /// data and output the stage fills; `--nproc` is the key nproc.
    func testTrainConfigurationAndStageShareTheirKeys() throws {
        let kind = try kind("train")
        XCTAssertEqual(kind.settingKeys.union(["data", "output"]), Set(TrainConfig.keys))
        let flags = Set(try options(["train"]).compactMap(\.names.first))
        XCTAssertEqual(flags, ["config", "set", "resume", "resume-from", "nproc"])
        XCTAssertTrue(kind.settingKeys.contains("nproc"))
    }
}
