import Common
import Datasets
import Evaluation
import Foundation
import Models
import Pipelines
import Recipes
import Settings
import Teachers
import Training

/// The readers bcsft points at untrusted bytes, each as one function of the bytes: what the
/// libFuzzer targets (`Tests/Fuzz/fuzz-*`, `make fuzz`) call with generated inputs, and what
/// `FuzzCorpusTests` calls with every committed corpus file, so a crash once found stays a test.
/// None may trap, hang or allocate without bound on any input; errors are the expected result.
public enum FuzzTargets {
    public static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "safetensors": safetensors, "config": config, "records": records, "grader": grader, "recipe": recipe, "http": http,
    ]

    /// A safetensors file's header (sizes, offsets, dtypes, tiling).
    public static func safetensors(_ bytes: [UInt8]) {
        _ = try? SafeTensors.header(Data(bytes), path: "fuzz")
    }

    /// A model's config.json.
    public static func config(_ bytes: [UInt8]) {
        _ = try? LlamaConfig.decode(Data(bytes), source: "fuzz")
    }

    /// One line of a JSONL file, as an SFT record and as a problem.
    public static func records(_ bytes: [UInt8]) {
        let data = Data(bytes)
        _ = try? SFTRecord.parse(data)
        if JSONStructure.problem(in: data) == nil { _ = try? JSONDecoder().decode(Problem.self, from: data) }
    }

    /// The grader on a prediction and a gold answer (the bytes split at the first NUL or line break).
    public static func grader(_ bytes: [UInt8]) {
        let cut = bytes.firstIndex { $0 == 0 || $0 == 10 } ?? bytes.count
        let pred = String(decoding: bytes[..<cut], as: UTF8.self)
        let gold = String(decoding: bytes[min(cut + 1, bytes.count)...], as: UTF8.self)
        _ = Grader().grade(pred: pred, gold: gold)
    }

    /// An HTTP request as `bcsft serve` receives it, under small limits (so that limit paths are
    /// reached) and the defaults; then whatever follows the first request, as pipelined.
    public static func http(_ bytes: [UInt8]) {
        for limits in [HTTPLimits(maxHeadBytes: 256, maxHeaderCount: 4, maxBodyBytes: 64), HTTPLimits()] {
            var rest = bytes
            for _ in 0..<4 {
                guard case let .request(_, consumed) = HTTPRequestParser.parse(rest, limits: limits), consumed > 0, consumed <= rest.count else { break }
                rest.removeFirst(consumed)
            }
        }
    }

    /// A recipe, and the same text as a training configuration.
    public static func recipe(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? Recipe.parse(yaml: text, source: "fuzz.yaml", environment: [:], baseDirectory: URL(fileURLWithPath: "/nonexistent"))
        _ = try? TrainConfig.load(yaml: text, source: "fuzz.yaml")
    }
}
