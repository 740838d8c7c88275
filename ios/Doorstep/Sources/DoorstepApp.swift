import DoorstepCore
import SwiftUI

enum Route: Hashable {
    case household(String), visit(String), appeal(String)
}

@main
struct DoorstepApp: App {
    private let opened: Result<(Core, Syncer), Problem>

    init() {
        switch Core.open() {
        case let .success(core):
            let syncer = Syncer(core: core)
            BackgroundSync.register(syncer: syncer)
            opened = .success((core, syncer))
        case let .failure(p):
            opened = .failure(p)
        }
    }

    var body: some Scene {
        WindowGroup {
            switch opened {
            case let .success((core, syncer)): RootView(core: core, syncer: syncer)
            case let .failure(p):
                VStack(spacing: 12) {
                    Text("store.unavailable").font(.title2)
                    Text(p.text)
                }
                .padding()
            }
        }
    }
}

/// The first screen follows the enrollment's role; a sync bar above every screen after it.
struct RootView: View {
    let core: Core
    let syncer: Syncer
    @State private var enrollment: Enrollment?
    @State private var home: Home?
    @State private var pulled = 0
    @StateObject private var sync: SyncModel
    @Environment(\.scenePhase) private var phase

    init(core: Core, syncer: Syncer) {
        self.core = core
        self.syncer = syncer
        _sync = StateObject(wrappedValue: SyncModel(core: core, syncer: syncer))
    }

    var body: some View {
        VStack(spacing: 0) {
            if enrollment != nil { SyncBar(model: sync) { pulled += 1 } }
            content.id(pulled)
        }
        .task {
            if case let .success(e) = await core.call({ try $0.enrollment() }) { enrollment = e }
            home = Home(core.store)
        }
        .onChange(of: phase) { p in if p == .background { BackgroundSync.schedule() } }
        // Revoked: the core wiped the store; start again at enrollment.
        .onChange(of: sync.wiped) { w in if w { enrollment = nil; home = .enroll } }
        .onOpenURL { url in
            // An enrollment link opened from a message: enroll as if scanned.
            guard enrollment == nil else { return }
            let m = EnrollmentModel(core: core)
            Task {
                await m.scanned(url.absoluteString)
                if let e = m.enrolled { enrollment = e; home = Home(core.store) }
            }
        }
    }

    @ViewBuilder private var content: some View {
        switch home {
        case nil: ProgressView()
        case .enroll?:
            NavigationStack {
                EnrollView(model: EnrollmentModel(core: core)) { e in enrollment = e; home = Home(core.store) }
            }
        case .households?:
            TabView {
                NavigationStack {
                    HouseholdsView(model: HouseholdsModel(core: core, grids: enrollment?.grids ?? []), core: core)
                        .navigationDestination(for: Route.self, destination: destination)
                }
                .tabItem { Label("tab.households", systemImage: "house") }
                NavigationStack {
                    LedgerView(model: LedgerModel(core: core), core: core)
                        .navigationDestination(for: Route.self, destination: destination)
                }
                .tabItem { Label("tab.ledger", systemImage: "list.bullet") }
            }
        case .helpList?:
            NavigationStack {
                HelpListView(model: HelpListModel(core: core, groups: enrollment?.groups ?? [], me: enrollment?.person.id ?? ""))
            }
        case .summary?:
            NavigationStack { SummaryView(model: SummaryModel(core: core, grids: enrollment?.grids ?? [])) }
        case .notOnPhones?:
            Text("not_on_phones").padding()
        }
    }

    @ViewBuilder private func destination(_ r: Route) -> some View {
        switch r {
        case let .household(id): HouseholdView(model: HouseholdModel(core: core, householdId: id), core: core)
        case let .visit(id): VisitView(model: VisitModel(core: core, householdId: id), core: core)
        case let .appeal(id): AppealView(model: AppealModel(core: core, appealId: id), core: core)
        }
    }
}
