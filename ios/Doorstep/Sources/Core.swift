import DoorstepCore
import Foundation

/// Why something did not work, in kinds the Localizable.strings files have words for. The same
/// kinds as the Android shell's `Problem` (android/state), mapped from the core's typed error.
struct Problem: Error, Equatable {
    enum Kind: String {
        case offline, badCode, revoked, notEnrolled, outOfScope, rateLimited, server
        case invalid, notAllowed, notFound, wrongKey, storage, `internal`
    }

    let kind: Kind
    var detail: String = ""
    var field: String? = nil

    init(_ kind: Kind, _ detail: String = "", field: String? = nil) {
        self.kind = kind
        self.detail = detail
        self.field = field
    }

    /// A shared screen's problem (the core decided its kind).
    init(screen p: ScreenProblem) {
        let kind: Kind
        switch p.kind {
        case .offline: kind = .offline
        case .badCode: kind = .badCode
        case .revoked: kind = .revoked
        case .notEnrolled: kind = .notEnrolled
        case .outOfScope: kind = .outOfScope
        case .rateLimited: kind = .rateLimited
        case .server: kind = .server
        case .invalid: kind = .invalid
        case .notAllowed: kind = .notAllowed
        case .notFound: kind = .notFound
        case .wrongKey: kind = .wrongKey
        case .storage: kind = .storage
        case .internal: kind = .internal
        }
        self.init(kind, p.detail, field: p.field)
    }

    init(_ error: Error) {
        guard let e = error as? DoorstepError else {
            self.init(.internal, "\(error)")
            return
        }
        switch e {
        case let .Offline(reason): self.init(.offline, reason)
        case let .Server(_, code, detail): self = Problem.fromServer(code: code, detail: detail)
        case let .Invalid(field, reason): self.init(.invalid, reason, field: field)
        case let .NotAllowed(reason):
            self.init(reason.contains("not enrolled") ? .notEnrolled : .notAllowed, reason)
        case let .NotFound(kind, id): self.init(.notFound, "\(kind) \(id)")
        case .NoUser: self.init(.notEnrolled)
        case .WrongKey: self.init(.wrongKey)
        case let .Storage(reason): self.init(.storage, reason)
        case let .Decode(reason): self.init(.invalid, reason)
        case let .Refused(_, rule, reasonZh, reasonEn, _):
            self.init(.notAllowed, "\(reasonZh) / \(reasonEn)", field: rule)
        case let .Schema(_, reason): self.init(.server, reason)
        case let .MissingDependencies(docId): self.init(.server, docId)
        case let .Internal(reason): self.init(.internal, reason)
        }
    }

    private static func fromServer(code: String, detail: String) -> Problem {
        switch code {
        case "device_revoked", "unauthorized": return Problem(.revoked, detail)
        case "bad_enrollment_code": return Problem(.badCode, detail)
        case "out_of_scope", "forbidden": return Problem(.outOfScope, detail)
        case "rate_limited": return Problem(.rateLimited, detail)
        default: return Problem(.server, "\(code): \(detail)")
        }
    }

    /// The words for this problem, from Localizable.strings (zh-Hans first, English second).
    var text: String {
        switch kind {
        case .invalid where field == "server_url": return String(localized: "problem.need_server")
        case .invalid where field == "code": return String(localized: "problem.need_code")
        case .invalid, .server:
            return String(format: String(localized: String.LocalizationValue("problem.\(kind.rawValue)")), detail)
        default: return String(localized: String.LocalizationValue("problem.\(kind.rawValue)"))
        }
    }
}

/// The app's one way into the core: every call runs off the main thread (writes wait for the
/// disk, a sync for the network), and a failure comes back as a `Problem`.
final class Core: @unchecked Sendable {
    let store: DoorstepStore
    let lang: Lang

    init(store: DoorstepStore, lang: Lang) {
        self.store = store
        self.lang = lang
    }

    func call<T>(_ body: @escaping (DoorstepStore) throws -> T) async -> Result<T, Problem> {
        let store = self.store
        return await Task.detached(priority: .userInitiated) {
            do { return .success(try body(store)) } catch { return .failure(Problem(error)) }
        }.value
    }

    var now: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// zh-Hans first: English only when the phone's preferred language is English.
    static func lang(for preferred: [String] = Locale.preferredLanguages) -> Lang {
        (preferred.first ?? "zh").lowercased().hasPrefix("en") ? .en : .zhCn
    }

    /// Opens the store encrypted with this phone's key from the Keychain.
    static func open() -> Result<Core, Problem> {
        do {
            let dir = try FileManager.default.url(for: .applicationSupportDirectory, in: .userDomainMask,
                                                  appropriateFor: nil, create: true)
            var url = dir.appendingPathComponent("doorstep.db")
            let key = try DatabaseKey.get()
            let store = try DoorstepStore.openEncrypted(path: url.path, key: key)
            // Residents' data is never in an iCloud or iTunes backup: the server holds it.
            var values = URLResourceValues()
            values.isExcludedFromBackup = true
            try? url.setResourceValues(values)
            return .success(Core(store: store, lang: lang()))
        } catch {
            return .failure(Problem(error))
        }
    }
}

/// The app's one sync bar screen: the button and the background task share it (one sync at a
/// time, decided in the core).
final class Syncer: @unchecked Sendable {
    let screen: SyncBarScreen

    init(core: Core) { screen = SyncBarScreen(store: core.store) }

    /// Syncs; waits for a sync already running, then runs its own.
    func sync() async -> Result<SyncReport, Problem> {
        let screen = self.screen
        return await Task.detached(priority: .utility) { () -> Result<SyncReport, Problem> in
            let ok = screen.sync()
            let v = screen.view()
            if ok, let r = v.lastReport { return .success(r) }
            return .failure(v.problem.map(Problem.init(screen:)) ?? Problem(.internal))
        }.value
    }
}
