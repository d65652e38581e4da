import ArgumentParser
import Foundation
import Tokenizers

struct TokenizerEncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode lines from standard input; print one line of space-separated ids per input line."
    )

    @Option(name: .long, help: "The tokenizer: a tokenizer.model, a tokenizer.json, or a model folder holding one.")
    var model: String

    @Option(name: .long, help: "Lines encoded together on every core.")
    var chunk: Int = 4096

    func run() throws {
        let tok = try loadTokenizer(at: URL(fileURLWithPath: model))
        var lines: [String] = []
        lines.reserveCapacity(chunk)
        func flush() throws {
            var out = ""
            for ids in try tok.encode(batch: lines) {
                out += ids.map(String.init).joined(separator: " ")
                out += "\n"
            }
            FileHandle.standardOutput.write(Data(out.utf8))
            lines.removeAll(keepingCapacity: true)
        }
        // Lines end at "\n" only, as Python's str.split("\n") does; a "\r" stays part of its line.
        while let line = readLine(strippingNewline: false) {
            lines.append(line.hasSuffix("\n") ? String(line.dropLast()) : line)
            if lines.count == chunk { try flush() }
        }
        if !lines.isEmpty { try flush() }
    }
}
