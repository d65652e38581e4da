import ArgumentParser

struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Train SentencePiece models and encode text with them.",
        subcommands: [TokenizerTrainCommand.self, TokenizerEncodeCommand.self]
    )
}
