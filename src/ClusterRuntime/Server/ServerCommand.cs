// Runs the server until SIGTERM/SIGINT; bad options end in one line and exit code 2.
using System.Net;
using System.Runtime.InteropServices;
using Appliance.ClusterRuntime.Datastore.Integrity;
using Appliance.ClusterRuntime.Datastore.Snapshots;
using Appliance.ClusterRuntime.Datastore.Sqlite;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Server;

/// <summary>The server verb's logic.</summary>
public sealed class ServerCommand(ServerOptions options, TextWriter error)
{
    /// <summary>Starts the server and waits for shutdown. Returns the exit code.</summary>
    public async Task<int> RunAsync(CancellationToken ct)
    {
        if (!IPAddress.TryParse(options.BindAddress, out _))
        {
            error.WriteLine($"appliance-runtime server: --bind-address: \"{options.BindAddress}\" is not an IP address");
            return 2;
        }
        if (options.AdvertiseAddress is { } advertise && !IPAddress.TryParse(advertise, out _))
        {
            error.WriteLine($"appliance-runtime server: --advertise-address: \"{advertise}\" is not an IP address");
            return 2;
        }
        if (options.HttpsPort is < 0 or > 65535)
        {
            error.WriteLine($"appliance-runtime server: --https-listen-port: {options.HttpsPort} is not a port number");
            return 2;
        }
        if (options.SnapshotRetention < 1)
        {
            error.WriteLine($"appliance-runtime server: --snapshot-retention: {options.SnapshotRetention} must be at least 1");
            return 2;
        }
        if (LimitOptions.Check(options) is { } bad)
        {
            error.WriteLine($"appliance-runtime server: {bad}");
            return 2;
        }
        MemoryTrimmer.ConfigureCHeap(); // before the datastore allocates anything
        Datastore.IBackend backend;
        try
        {
            backend = BackendFactory.Create(options);
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"appliance-runtime server: {e.Message}");
            return 2;
        }
        var sqlite = backend as SqliteBackend;
        if (sqlite is null && options.ResetDatastore)
            error.WriteLine("appliance-runtime server: --reset-datastore ignored: it applies to the SQLite datastore only");
        if (sqlite is not null)
        {
            // A damaged or unexpectedly empty database is refused before anything is served from it (exit 1).
            try
            {
                if (DatastoreStartup.Check(options, DateTimeOffset.UtcNow) is { } notice) error.WriteLine($"appliance-runtime server: {notice}");
            }
            catch (Exception e) when (e is DatastoreDamagedException or DatastoreInUseException or IOException or UnauthorizedAccessException)
            {
                await backend.DisposeAsync();
                error.WriteLine($"appliance-runtime server: {e.Message}");
                return 1;
            }
        }
        ApiServer server;
        try
        {
            server = await ApiServer.StartAsync(options, backend, null, ct);
        }
        catch (Pki.ProvidedPkiException e)
        {
            // The operator's input (a provided CA and token) is wrong, not the machine: a usage error, as a bad flag.
            await backend.DisposeAsync();
            error.WriteLine($"appliance-runtime server: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or InvalidDataException
                                       or DatastoreInUseException or System.Security.Cryptography.CryptographicException
                                       or System.Data.Common.DbException)
        {
            await backend.DisposeAsync();
            error.WriteLine($"appliance-runtime server: {e.Message}");
            return 1;
        }
        try
        {
            if (sqlite is not null) DatastoreStartup.MarkInitialized(options.DataDir, DateTimeOffset.UtcNow);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"appliance-runtime server: warning: cannot record that {options.DataDir} holds a cluster ({e.Message}); a later loss of the datastore will not be detected");
        }
        var stop = new TaskCompletionSource();
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        await using (server)
        {
            using var stopSnapshots = new CancellationTokenSource();
            var snapshots = sqlite is null || options.SnapshotInterval <= TimeSpan.Zero
                ? Task.CompletedTask
                : new SnapshotScheduler(new SnapshotStore(options.DataDir), options.SnapshotInterval, options.SnapshotRetention, sqlite.FlushAsync,
                    server.LoggerFactory.CreateLogger("Appliance.ClusterRuntime.Datastore"), TimeProvider.System).RunAsync(stopSnapshots.Token);
            // The embedded agent stops before the API server, so its last calls still reach it; containerd gets SIGTERM
            // alone and the containers keep running.
            using var stopAgent = new CancellationTokenSource();
            var agent = options.Agent is { } agentOptions ? EmbeddedAgent.RunAsync(agentOptions, options, server, stopAgent.Token) : Task.CompletedTask;
            await Task.WhenAny(stop.Task, server.WaitForShutdownAsync(), Task.Delay(Timeout.Infinite, ct));
            await stopAgent.CancelAsync();
            await agent;
            await stopSnapshots.CancelAsync();
            await snapshots;
        }
        return 0;
    }
}
