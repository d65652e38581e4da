import Foundation
import Tokenizers

/// Why the tokenize subcommand could not run, naming the argument or file to fix.
struct TokenizeBenchError: LocalizedError {
    let message: String
    var errorDescription: String? { message }
}

func stringArg(_ name: String) -> String? {
    let a = CommandLine.arguments
    guard let i = a.firstIndex(of: "--\(name)"), i + 1 < a.count else { return nil }
    return a[i + 1]
}

/// Reads texts from JSONL, one `{"text": "..."}` object a line (JSON keeps newlines and any
/// Unicode intact, which a plain file of lines could not).
func readTexts(_ path: String) throws -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw TokenizeBenchError(message: "cannot read --texts \(path)")
    }
    var texts: [String] = []
    for (n, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.isEmpty {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], let t = obj["text"] as? String else {
            throw TokenizeBenchError(message: "\(path) line \(n + 1): a JSON object with a string \"text\" expected")
        }
        texts.append(t)
    }
    return texts
}

/// tokenize: loads a tokenizer (a folder or a tokenizer.json/tokenizer.model file), reads the
/// texts, and encodes them all in one batch on --threads workers (no special tokens), timing
/// the encode call alone: --warmup untimed runs, then the median of --steps. With --ids PATH
/// it writes each text's ids as a line of space-separated integers, for a parity check.
func tokenize() throws -> [String: Any] {
    guard let tokenizerPath = stringArg("tokenizer"), let textsPath = stringArg("texts") else {
        throw TokenizeBenchError(message: "tokenize needs --tokenizer PATH and --texts FILE.jsonl")
    }
    let tok = try loadTokenizer(at: URL(fileURLWithPath: tokenizerPath))
    let texts = try readTexts(textsPath)
    let threads = arg("threads", ProcessInfo.processInfo.activeProcessorCount)
    let steps = arg("steps", 3), warmup = arg("warmup", 1)
    var times: [Double] = []
    var ids: [[Int32]] = []
    for i in 0..<(warmup + max(steps, 1)) {
        let t0 = now()
        ids = try tok.encode(batch: texts, threads: threads)
        if i >= warmup { times.append(now() - t0) }
    }
    if let out = stringArg("ids") {
        var text = ""
        for row in ids {
            text += row.map(String.init).joined(separator: " ")
            text += "\n"
        }
        guard FileManager.default.createFile(atPath: out, contents: Data(text.utf8)) else {
            throw TokenizeBenchError(message: "cannot write --ids \(out)")
        }
    }
    return ["mode": "tokenize", "seconds": median(times), "samples": times, "tokens": ids.reduce(0) { $0 + $1.count },
            "texts": texts.count, "bytes": texts.reduce(0) { $0 + $1.utf8.count }, "encode_threads": threads]
}
