import DoorstepCore
import SwiftUI

// The iOS shell's whole adapter to the shared screens (screens/ in Rust, through the generated
// bindings; the Android shell's android/state is the same in Kotlin): each screen's views are
// published to SwiftUI, and the screens' own methods take the events. Nothing here decides
// anything; the behaviour and its tests are in Rust (server/tests/screens.rs).

/// A shared screen and its views, published on the main actor.
@MainActor
final class Observed<Screen: AnyObject, Model>: ObservableObject {
    let screen: Screen
    @Published private(set) var view: Model
    private let read: (Screen) -> Model

    init(_ screen: Screen, _ read: @escaping (Screen) -> Model) {
        self.screen = screen
        self.read = read
        view = read(screen)
    }

    /// The core's listener: a new view, from whichever thread made it (a sync's, say).
    nonisolated func push(_ v: Model) {
        Task { @MainActor in self.view = v }
    }

    /// A quick call (typing, a toggle) on the main thread; the view follows at once.
    func now(_ body: (Screen) -> Void) {
        body(screen)
        view = read(screen)
    }

    /// A call that writes or syncs, off the main thread (the disk, the network).
    func run<T>(_ body: @escaping @Sendable (Screen) -> T) async -> T {
        let s = screen
        let out = await Task.detached(priority: .userInitiated) { body(s) }.value
        view = read(screen)
        return out
    }

    /// A SwiftUI binding: reads the view, writes through the screen.
    func binding<T>(_ get: @escaping (Model) -> T, _ set: @escaping (Screen, T) -> Void) -> Binding<T> {
        Binding(get: { get(self.view) }, set: { v in self.now { set($0, v) } })
    }
}

/// Hands a screen's views to `Observed.push`: one class, a conformance per screen's listener.
final class Listen<Model>: @unchecked Sendable {
    let push: (Model) -> Void
    init(_ push: @escaping (Model) -> Void) { self.push = push }
}

extension Listen: EnrollmentListener where Model == EnrollmentView { func changed(view: Model) { push(view) } }
extension Listen: SyncBarListener where Model == SyncBarView { func changed(view: Model) { push(view) } }
extension Listen: HouseholdListListener where Model == HouseholdListView { func changed(view: Model) { push(view) } }
extension Listen: HouseholdDetailListener where Model == HouseholdDetailView { func changed(view: Model) { push(view) } }
extension Listen: VisitFormListener where Model == VisitFormView { func changed(view: Model) { push(view) } }
extension Listen: HelpTasksListener where Model == HelpTasksView { func changed(view: Model) { push(view) } }
extension Listen: AppealLedgerListener where Model == AppealLedgerView { func changed(view: Model) { push(view) } }
extension Listen: AppealDetailListener where Model == AppealDetailView { func changed(view: Model) { push(view) } }
extension Listen: GridSummaryListener where Model == GridSummaryView { func changed(view: Model) { push(view) } }

@MainActor func observe(_ s: EnrollmentScreen) -> Observed<EnrollmentScreen, EnrollmentView> {
    let o = Observed(s) { $0.view() }; s.setListener(listener: Listen(o.push)); return o
}
@MainActor func observe(_ s: SyncBarScreen) -> Observed<SyncBarScreen, SyncBarView> {
    let o = Observed(s) { $0.view() }; s.setListener(listener: Listen(o.push)); return o
}
@MainActor func observe(_ s: HouseholdListScreen) -> Observed<HouseholdListScreen, HouseholdListView> {
    let o = Observed(s) { $0.view() }; s.setListener(listener: Listen(o.push)); return o
}
@MainActor func observe(_ s: HouseholdDetailScreen) -> Observed<HouseholdDetailScreen, HouseholdDetailView> {
    let o = Observed(s) { $0.view() }; s.setListener(listener: Listen(o.push)); return o
}
@MainActor func observe(_ s: VisitFormScreen) -> Observed<VisitFormScreen, VisitFormView> {
    let o = Observed(s) { $0.view() }; s.setListener(listener: Listen(o.push)); return o
}
@MainActor func observe(_ s: HelpTasksScreen) -> Observed<HelpTasksScreen, HelpTasksView> {
    let o = Observed(s) { $0.view() }; s.setListener(listener: Listen(o.push)); return o
}
@MainActor func observe(_ s: AppealLedgerScreen) -> Observed<AppealLedgerScreen, AppealLedgerView> {
    let o = Observed(s) { $0.view() }; s.setListener(listener: Listen(o.push)); return o
}
@MainActor func observe(_ s: AppealDetailScreen) -> Observed<AppealDetailScreen, AppealDetailView> {
    let o = Observed(s) { $0.view() }; s.setListener(listener: Listen(o.push)); return o
}
@MainActor func observe(_ s: GridSummaryScreen) -> Observed<GridSummaryScreen, GridSummaryView> {
    let o = Observed(s) { $0.view() }; s.setListener(listener: Listen(o.push)); return o
}

/// zh-Hans first: English only when the phone's preferred language is English.
func appLang(_ preferred: [String] = Locale.preferredLanguages) -> Lang {
    (preferred.first ?? "zh").lowercased().hasPrefix("en") ? .en : .zhCn
}

extension ScreenProblem {
    /// The words for this problem, from Localizable.strings (zh-Hans first, English second).
    var text: String {
        switch kind {
        case .offline: return String(localized: "problem.offline")
        case .badCode: return String(localized: "problem.badCode")
        case .revoked: return String(localized: "problem.revoked")
        case .notEnrolled: return String(localized: "problem.notEnrolled")
        case .outOfScope: return String(localized: "problem.outOfScope")
        case .rateLimited: return String(localized: "problem.rateLimited")
        case .server: return String(format: String(localized: "problem.server"), detail)
        case .invalid where field == "server_url": return String(localized: "problem.need_server")
        case .invalid where field == "code": return String(localized: "problem.need_code")
        case .invalid: return String(format: String(localized: "problem.invalid"), detail)
        case .notAllowed: return String(localized: "problem.notAllowed")
        case .notFound: return String(localized: "problem.notFound")
        case .wrongKey: return String(localized: "problem.wrongKey")
        case .storage: return String(localized: "problem.storage")
        case .internal: return String(localized: "problem.internal")
        }
    }
}
