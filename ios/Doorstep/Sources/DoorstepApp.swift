import DoorstepCore
import SwiftUI

enum Route: Hashable {
    case household(String), visit(String), appeal(String)
}

@main
struct DoorstepApp: App {
    private let store: DoorstepStore?
    private let problem: ScreenProblem?

    init() {
        let opening = DoorstepApp.open()
        // A bug closed the app last time (the library aborts on a panic): where and why, kept in
        // the system log for whoever supports this phone.
        if let crash = opening.lastCrash { NSLog("Doorstep closed by a bug last time: %@", crash) }
        store = opening.store
        problem = opening.problem
        if let store { BackgroundSync.register(bar: SyncBarScreen.shared(store)) }
    }

    /// Opens the store encrypted with this phone's key from the Keychain.
    private static func open() -> StoreOpening {
        do {
            let dir = try FileManager.default.url(for: .applicationSupportDirectory, in: .userDomainMask,
                                                  appropriateFor: nil, create: true)
            var url = dir.appendingPathComponent("doorstep.db")
            let opening = openStore(path: url.path, key: try DatabaseKey.get())
            // Residents' data is never in an iCloud or iTunes backup: the server holds it.
            var values = URLResourceValues()
            values.isExcludedFromBackup = true
            try? url.setResourceValues(values)
            return opening
        } catch {
            return StoreOpening(store: nil, problem: ScreenProblem(kind: .storage, detail: "\(error)", field: nil),
                                lastCrash: nil)
        }
    }

    var body: some Scene {
        WindowGroup {
            if let store {
                RootView(store: store)
            } else {
                VStack(spacing: 12) {
                    Text("store.unavailable").font(.title2)
                    Text(problem?.text ?? "")
                }
                .padding()
            }
        }
    }
}

extension SyncBarScreen {
    private static var one: SyncBarScreen?

    /// The app's one sync bar screen: the button and the background task share it (one sync
    /// at a time, decided in the core).
    static func shared(_ store: DoorstepStore) -> SyncBarScreen {
        if let one { return one }
        let bar = SyncBarScreen(store: store)
        one = bar
        return bar
    }
}

/// The first screen follows the enrollment's role; a sync bar above every screen after it.
struct RootView: View {
    let store: DoorstepStore
    private let lang = appLang()
    @State private var enrollment: Enrollment?
    @State private var home: HomeScreen?
    @State private var pulled = 0
    @StateObject private var sync: Observed<SyncBarScreen, SyncBarView>
    @Environment(\.scenePhase) private var phase

    init(store: DoorstepStore) {
        self.store = store
        _sync = StateObject(wrappedValue: observe(SyncBarScreen.shared(store)))
    }

    var body: some View {
        VStack(spacing: 0) {
            if enrollment != nil { SyncBar(m: sync, lang: lang) { pulled += 1 } }
            content.id(pulled)
        }
        .task {
            enrollment = try? store.enrollment()
            home = homeScreen(store: store)
        }
        .onChange(of: phase) { p in if p == .background { BackgroundSync.schedule() } }
        // Revoked: the core wiped the store; start again at enrollment.
        .onChange(of: sync.view.wiped) { w in if w { enrollment = nil; home = .enroll } }
        .onOpenURL { url in
            // An enrollment link opened from a message: enroll as if scanned.
            guard enrollment == nil else { return }
            let m = observe(EnrollmentScreen(store: store))
            Task {
                await m.run { $0.scanned(text: url.absoluteString) }
                if let e = m.view.enrolled { enrollment = e; home = homeScreen(store: store) }
            }
        }
    }

    @ViewBuilder private var content: some View {
        switch home {
        case nil: ProgressView()
        case .enroll?:
            NavigationStack {
                EnrollView(m: observe(EnrollmentScreen(store: store))) { e in enrollment = e; home = homeScreen(store: store) }
            }
        case .households?:
            TabView {
                NavigationStack {
                    HouseholdsView(m: observe(HouseholdListScreen(store: store, grids: enrollment?.grids ?? [], pageSize: 50)), lang: lang)
                        .navigationDestination(for: Route.self, destination: destination)
                }
                .tabItem { Label("tab.households", systemImage: "house") }
                NavigationStack {
                    LedgerView(m: observe(AppealLedgerScreen(store: store, grid: nil)), lang: lang)
                        .navigationDestination(for: Route.self, destination: destination)
                }
                .tabItem { Label("tab.ledger", systemImage: "list.bullet") }
            }
        case .helpList?:
            NavigationStack {
                HelpListView(m: observe(HelpTasksScreen(store: store, groups: enrollment?.groups ?? [], me: enrollment?.person.id ?? "")), store: store)
            }
        case .summary?:
            NavigationStack { SummaryView(m: observe(GridSummaryScreen(store: store, grids: enrollment?.grids ?? []))) }
        case .notOnPhones?:
            Text("not_on_phones").padding()
        }
    }

    @ViewBuilder private func destination(_ r: Route) -> some View {
        switch r {
        case let .household(id): HouseholdView(m: observe(HouseholdDetailScreen(store: store, householdId: id)), lang: lang)
        case let .visit(id): VisitView(m: observe(VisitFormScreen(store: store, householdId: id)), store: store, lang: lang)
        case let .appeal(id): AppealView(m: observe(AppealDetailScreen(store: store, appealId: id)), store: store, lang: lang)
        }
    }
}
