import BackgroundTasks
import Foundation
import Network

/// Background sync: a BGProcessingTask that needs the network (iOS runs it when it sees fit,
/// typically within hours), and a sync at once whenever the network comes back while the app
/// runs (a grid worker walking out of a basement with a morning's visits).
enum BackgroundSync {
    static let identifier = "app.doorstep.sync"
    private static let monitor = NWPathMonitor()

    /// Registers the task handler; call before the app finishes launching.
    static func register(syncer: Syncer) {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            schedule()
            let work = Task {
                let r = await syncer.sync()
                if case .success = r { task.setTaskCompleted(success: true) } else { task.setTaskCompleted(success: false) }
            }
            task.expirationHandler = { work.cancel() }
        }
        var wasOnline = true
        monitor.pathUpdateHandler = { path in
            let online = path.status == .satisfied
            if online && !wasOnline { Task { _ = await syncer.sync() } }
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
