import ArgumentParser
import Foundation
import Backends

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check libtorch, BLAS, threads, CUDA and SentencePiece; exit non-zero if something is broken."
    )

    @Flag(help: "Print libtorch's full build configuration too.")
    var verbose = false

    func run() throws {
        try configureRuntime()
        let report = Doctor.run()
        for check in report.checks {
            let mark = check.status == .ok ? "ok  " : check.status == .warning ? "warn" : "FAIL"
            print("[\(mark)] \(check.name.padding(toLength: 14, withPad: " ", startingAt: 0)) \(check.detail)")
        }
        if verbose { print("\n" + report.buildConfig) }
        if report.failed {
            FileHandle.standardError.write(Data("bcsft doctor: found problems (FAIL lines above). Run `make setup` (scripts/setup) to install what is missing, then `make build`.\n".utf8))
            throw ExitCode.failure
        }
    }
}
