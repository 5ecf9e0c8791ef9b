// One process run in a running container through containerd's task API, its stdio on FIFOs this side creates.
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Agent.Images;
using Appliance.ClusterRuntime.Agent.Images.Api;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Appliance.ClusterRuntime.Agent.KubeletApi;

/// <summary>
/// An exec process: <c>Tasks/Exec</c> with the container's own OCI process (env, cwd, user, capabilities) but the
/// asked-for args, then <c>Start</c>. The shim opens the FIFOs at Start; this side opens its ends at the same time.
/// Stdin ends with our writer closed and <c>CloseIO</c> (the shim holds a writer of its own until then), which the
/// CRI stream server's WebSocket v4 cannot express.
/// </summary>
internal sealed class TaskExec : IAsyncDisposable
{
    const string ProcessTypeUrl = "types.containerd.io/opencontainers/runtime-spec/1/Process";
    const uint SigKill = 9;
    readonly ContainerdConnection _containerd;
    readonly string _containerId;
    readonly string _dir;
    Task<FileStream>? _stdin, _stdout, _stderr;
    bool _created;

    TaskExec(ContainerdConnection containerd, string containerId, string id, string dir)
    {
        _containerd = containerd;
        _containerId = containerId;
        Id = id;
        _dir = dir;
    }

    /// <summary>The exec id (unique per container).</summary>
    public string Id { get; }

    /// <summary>Our write end of the process's stdin, once the shim opened its end (null without stdin).</summary>
    public Task<FileStream>? Stdin => _stdin;

    /// <summary>The process's stdout (with a TTY: the terminal's output), null when not asked for.</summary>
    public Task<FileStream>? Stdout => _stdout;

    /// <summary>The process's stderr, null when not asked for or with a TTY.</summary>
    public Task<FileStream>? Stderr => _stderr;

    /// <summary>
    /// Creates and starts the process. Errors from containerd (no such executable, container not running) surface as
    /// <see cref="Grpc.Core.RpcException"/>; the caller disposes this either way.
    /// </summary>
    public static async Task<TaskExec> StartAsync(ContainerdConnection containerd, string containerId, string fifoRoot,
        IReadOnlyList<string> command, bool stdin, bool stdout, bool stderr, bool tty, CancellationToken ct)
    {
        var id = "exec-" + Guid.NewGuid().ToString("N")[..16];
        var dir = Path.Combine(fifoRoot, id);
        Directory.CreateDirectory(dir);
        var exec = new TaskExec(containerd, containerId, id, dir);
        try
        {
            var container = (await containerd.Containers.GetAsync(new GetContainerRequest { Id = containerId }, containerd.Call(ct))).Container;
            var spec = JsonNode.Parse(container.Spec.Value.ToStringUtf8()) as JsonObject
                ?? throw new InvalidDataException($"container {containerId}: its OCI spec is not a JSON object");
            var process = spec["process"]?.DeepClone() as JsonObject ?? new JsonObject();
            process["args"] = new JsonArray([.. command.Select(c => (JsonNode?)JsonValue.Create(c))]);
            process["terminal"] = tty;
            process.Remove("consoleSize");
            if (tty)
            {
                // As containerd's CRI exec does for a TTY.
                var env = process["env"] as JsonArray ?? [];
                if (!env.Any(e => e?.GetValue<string>().StartsWith("TERM=", StringComparison.Ordinal) == true)) env.Add((JsonNode)"TERM=xterm");
                process["env"] = env;
            }
            var request = new ExecProcessRequest
            {
                ContainerId = containerId,
                ExecId = id,
                Terminal = tty,
                Spec = new Any { TypeUrl = ProcessTypeUrl, Value = ByteString.CopyFromUtf8(process.ToJsonString()) },
            };
            if (stdin) request.Stdin = exec.Fifo("stdin");
            if (stdout) request.Stdout = exec.Fifo("stdout");
            if (stderr && !tty) request.Stderr = exec.Fifo("stderr");
            await containerd.Tasks.ExecAsync(request, containerd.Call(ct));
            exec._created = true;
            // Opening a FIFO blocks until the other side opens: the shim does at Start.
            if (stdin) exec._stdin = Task.Run(() => new FileStream(request.Stdin, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0));
            if (stdout) exec._stdout = Task.Run(() => new FileStream(request.Stdout, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0));
            if (stderr && !tty) exec._stderr = Task.Run(() => new FileStream(request.Stderr, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0));
            await containerd.Tasks.StartAsync(new StartRequest { ContainerId = containerId, ExecId = id }, containerd.Call(ct));
            return exec;
        }
        catch
        {
            await exec.DisposeAsync();
            throw;
        }
    }

    string Fifo(string name)
    {
        var path = Path.Combine(_dir, name);
        if (mkfifo(path, 0x180) != 0) // 0600
            throw new IOException($"mkfifo {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        return path;
    }

    /// <summary>Waits for the process to exit and returns its exit status.</summary>
    public async Task<uint> WaitAsync(CancellationToken ct) =>
        (await _containerd.Tasks.WaitAsync(new WaitRequest { ContainerId = _containerId, ExecId = Id }, _containerd.Call(ct))).ExitStatus;

    /// <summary>Ends stdin: our writer closes, then the shim's (data already in the FIFO is still delivered).</summary>
    public async Task CloseStdinAsync(CancellationToken ct)
    {
        if (_stdin is null) return;
        await (await _stdin).DisposeAsync();
        await _containerd.Tasks.CloseIOAsync(new CloseIORequest { ContainerId = _containerId, ExecId = Id, Stdin = true }, _containerd.Call(ct));
    }

    /// <summary>Sets the terminal's size (TTY only).</summary>
    public async Task ResizeAsync(uint width, uint height, CancellationToken ct) =>
        await _containerd.Tasks.ResizePtyAsync(new ResizePtyRequest { ContainerId = _containerId, ExecId = Id, Width = width, Height = height }, _containerd.Call(ct));

    /// <summary>Kills the process (the client went away before it ended).</summary>
    public async Task KillAsync(CancellationToken ct) =>
        await _containerd.Tasks.KillAsync(new KillRequest { ContainerId = _containerId, ExecId = Id, Signal = SigKill }, _containerd.Call(ct));

    /// <summary>Deletes the process from containerd, closes our FIFO ends and removes them.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_created)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _containerd.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = _containerId, ExecId = Id }, _containerd.Call(timeout.Token));
            }
            catch (Exception e) when (e is Grpc.Core.RpcException or OperationCanceledException)
            {
                // Not started, or already gone with its container: nothing of it is left to delete.
            }
        }
        foreach (var (open, name) in new[] { (_stdin, "stdin"), (_stdout, "stdout"), (_stderr, "stderr") })
        {
            if (open is null) continue;
            if (!open.IsCompleted)
            {
                // The shim never opened its end (Start failed): an O_RDWR open of our own completes the pending one.
                try { using var unblock = new FileStream(Path.Combine(_dir, name), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 0); } catch (IOException) { }
            }
            try { await (await open).DisposeAsync(); } catch (Exception e) when (e is IOException or ObjectDisposedException) { }
        }
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [DllImport("libc", SetLastError = true)]
    static extern int mkfifo(string path, uint mode);
}
