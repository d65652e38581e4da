import Foundation
import XCTest

/// Asserts that `body` throws an error whose message contains every one of `parts`.
func assertThrows(_ parts: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected an error containing \(parts)", file: file, line: line)
    } catch {
        let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
        for p in parts where !message.contains(p) {
            XCTFail("error message lacks '\(p)': \(message)", file: file, line: line)
        }
    }
}
