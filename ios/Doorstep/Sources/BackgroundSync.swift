import BackgroundTasks
import DoorstepCore
import Foundation
import Network

/// Background sync: a BGProcessingTask that needs the network (iOS runs it when it sees fit,
/// typically within hours), and a sync at once whenever the network comes back while the app
/// runs (a grid worker walking out of a basement with a morning's visits).
enum BackgroundSync {
    static let identifier = "app.doorstep.sync"
    private static let monitor = NWPathMonitor()

    /// Registers the task handler; call before the app finishes launching. The sync runs
    /// through the app's one sync bar screen, so the bar shows its outcome.
    static func register(bar: SyncBarScreen) {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            schedule()
            let work = Task.detached(priority: .utility) {
                task.setTaskCompleted(success: bar.sync())
            }
            task.expirationHandler = { work.cancel() }
        }
        var wasOnline = true
        monitor.pathUpdateHandler = { path in
            let online = path.status == .satisfied
            if online && !wasOnline { Task.detached(priority: .utility) { _ = bar.sync() } }
            wasOnline = online
        }
        monitor.start(queue: DispatchQueue(label: "app.doorstep.network"))
    }

    /// Asks iOS for the next background sync.
    static func schedule() {
        let request = BGProcessingTaskRequest(identifier: identifier)
        request.requiresNetworkConnectivity = true
        request.earliestBeginDate = Date(timeIntervalSinceNow: 60 * 60)
        try? BGTaskScheduler.shared.submit(request)
    }
}
