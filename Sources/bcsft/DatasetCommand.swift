import ArgumentParser

struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Build packed, loss-masked token shards from SFT records, and inspect them.",
        subcommands: [DatasetBuildCommand.self, DatasetInspectCommand.self]
    )
}
