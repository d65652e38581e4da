import Foundation
import Settings
import Teachers
import TestSupport
import XCTest

/// The API key reaches the server's Authorization header and nothing else: not errors, not
/// stored completions, even from a server that echoes it; a key that cannot be sent as a header
/// and credentials in a base URL are refused, not dropped or shown.
final class SecretsTests: XCTestCase {
    let variable = "BCSFT_SECRETS_TEST_KEY"

    func client(_ url: URL, key: String) throws -> OpenAIClient {
        setenv(variable, key, 1)
        var c = OpenAIClient.Configuration(baseURLs: [url], model: "m", apiKeyVariable: variable)
        c.maxAttempts = 1
        return try OpenAIClient(c)
    }

    func testAnEchoedKeyNeverReachesErrorsOrCompletions() async throws {
        let server = try ScriptedServer()
        let secret = "sk-echo-\(UUID().uuidString)"
        let c = try client(server.url, key: secret)
        do {
            _ = try await c.complete([.user("ECHOKEY please")], Sampling())
            XCTFail("a 400 is an error")
        } catch {
            XCTAssertFalse(error.localizedDescription.contains(secret), error.localizedDescription)
            XCTAssertTrue(error.localizedDescription.contains("[api key]"), error.localizedDescription)
        }
        let echoed = try await c.complete([.user("ECHOKEY200 please")], Sampling())
        XCTAssertFalse(echoed.choices[0].content.contains(secret), echoed.choices[0].content)
        XCTAssertTrue((try server.stats()["auth"] as! [String?]).contains("Bearer \(secret)"), "the server did get the key")
    }

    func testAKeyWithALineBreakIsRefusedNotDropped() throws {
        XCTAssertThrowsError(try client(URL(string: "http://127.0.0.1:9/v1")!, key: "sk-abc\r\nX-Injected: 1")) { error in
            XCTAssertEqual(error as? TeacherError, .badAPIKey(variable: variable, reason: "holds control characters (a line break?); a key is one line of printable text"))
            XCTAssertFalse(error.localizedDescription.contains("sk-abc"))
        }
    }

    func testCredentialsInABaseURLAreRefusedAndNotShown() throws {
        let url = URL(string: "http://user:hunter2@127.0.0.1:9/v1")!
        XCTAssertThrowsError(try OpenAIClient(OpenAIClient.Configuration(baseURLs: [url], model: "m"))) { error in
            XCTAssertFalse(error.localizedDescription.contains("hunter2"), error.localizedDescription)
            XCTAssertTrue(error.localizedDescription.contains("holds credentials"), error.localizedDescription)
        }
    }
}
