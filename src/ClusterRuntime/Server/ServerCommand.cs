// Runs the server until SIGTERM/SIGINT; bad options end in one line and exit code 2.
using System.Net;
using System.Runtime.InteropServices;

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
        if (options.HttpsPort is < 0 or > 65535)
        {
            error.WriteLine($"appliance-runtime server: --https-listen-port: {options.HttpsPort} is not a port number");
            return 2;
        }
        if (LimitOptions.Check(options) is { } bad)
        {
            error.WriteLine($"appliance-runtime server: {bad}");
            return 2;
        }
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
        ApiServer server;
        try
        {
            server = await ApiServer.StartAsync(options, backend, null, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException
                                       or System.Security.Cryptography.CryptographicException or System.Data.Common.DbException)
        {
            await backend.DisposeAsync();
            error.WriteLine($"appliance-runtime server: {e.Message}");
            return 1;
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
            await Task.WhenAny(stop.Task, server.WaitForShutdownAsync(), Task.Delay(Timeout.Infinite, ct));
        }
        return 0;
    }
}
