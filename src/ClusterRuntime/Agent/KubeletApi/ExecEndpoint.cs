// GET /exec|attach/{ns}/{pod}/{container}?command=…&input&output&error&tty, upgraded to WebSocket v5/v4.channel.k8s.io.
using System.Net.WebSockets;
using Appliance.ClusterRuntime.Agent.Cri;
using Appliance.ClusterRuntime.Agent.Cri.V1;
using Appliance.ClusterRuntime.Agent.Images;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.KubeletApi;

/// <summary>Where exec finds containers and keeps its FIFOs.</summary>
/// <param name="ContainerdSocket">containerd's socket (CRI and its own API are served on the same one).</param>
/// <param name="FifoDir">A directory for the stdio FIFOs of running execs (DATA_DIR/exec).</param>
/// <param name="RuntimeNetns">The network namespace containerd runs in, when it is not this process's (its stream
/// server, which serves attach, listens on loopback there); null for the agent's own.</param>
public sealed record ExecOptions(string ContainerdSocket, string FifoDir, string? RuntimeNetns = null);

/// <summary>
/// Runs a command in a running container (exec), or joins its main process's stdio (attach), and streams it over the
/// remote command WebSocket protocol. Errors found after the upgrade (no such running container, no such executable)
/// go to the error channel as a Status.
/// </summary>
sealed class ExecEndpoint(ExecOptions options, ILogger logger) : IDisposable
{
    readonly CriConnection _cri = new(options.ContainerdSocket);
    readonly ContainerdConnection _containerd = new(options.ContainerdSocket);

    /// <summary>The CRI connection (shared with port-forward).</summary>
    internal CriConnection Cri => _cri;

    public async Task HandleAsync(HttpContext ctx, string rest, string verb = "exec")
    {
        var parts = rest.Split('/');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0))
        {
            await KubeletServer.Text(ctx, 400, $"expected /{verb}/{{namespace}}/{{pod}}/{{container}}");
            return;
        }
        var q = ctx.Request.Query;
        var command = q["command"].Select(c => c ?? "").ToList();
        bool Flag(string name) => q[name].ToString() is "1" or "true";
        bool stdin = Flag("input"), stdout = Flag("output"), stderr = Flag("error"), tty = Flag("tty");
        if (verb == "exec" && command.Count == 0)
        {
            await KubeletServer.Text(ctx, 400, "you must specify at least one command for the container");
            return;
        }
        if (!stdin && !stdout && !stderr)
        {
            await KubeletServer.Text(ctx, 400, "you must specify at least one of input, output, error");
            return;
        }
        if (!RemoteCommand.IsUpgrade(ctx))
        {
            await KubeletServer.Text(ctx, 400, $"{verb} needs a WebSocket upgrade (SPDY is not supported)");
            return;
        }
        var offered = RemoteCommand.Offered(ctx.Request);
        var protocol = offered.FirstOrDefault(p => p is RemoteCommand.V5 or RemoteCommand.V4);
        if (protocol is null)
        {
            await KubeletServer.Text(ctx, 400, $"unsupported subprotocols [{string.Join(", ", offered)}]: this kubelet speaks {RemoteCommand.V5} and {RemoteCommand.V4}");
            return;
        }
        string ns = Uri.UnescapeDataString(parts[0]), pod = Uri.UnescapeDataString(parts[1]), container = Uri.UnescapeDataString(parts[2]);
        using var socket = await RemoteCommand.AcceptAsync(ctx, protocol);
        if (verb == "attach")
        {
            await AttachAsync(socket, protocol == RemoteCommand.V5, ns, pod, container, stdin, stdout, stderr, tty, ctx.RequestAborted);
            return;
        }
        var session = new ExecSession(socket, protocol == RemoteCommand.V5, command);
        var ct = ctx.RequestAborted;
        try
        {
            var id = await RunningContainerAsync(ns, pod, container, ct);
            if (id is null)
            {
                await session.FinishAsync(RemoteCommand.Failure($"container not found (\"{container}\") running in pod {ns}/{pod}", "NotFound"), ct);
                return;
            }
            TaskExec exec;
            try
            {
                exec = await TaskExec.StartAsync(_containerd, id, options.FifoDir, command, stdin, stdout, stderr, tty, ct);
            }
            catch (Exception e) when (e is Grpc.Core.RpcException or IOException or InvalidDataException)
            {
                // containerd refused, or the FIFOs or the container's spec could not be had.
                await session.FinishAsync(RemoteCommand.Failure($"failed to exec in container {container}: {(e is Grpc.Core.RpcException r ? r.Status.Detail : e.Message)}"), ct);
                return;
            }
            await using (exec)
                await session.RunAsync(exec, ct);
        }
        catch (Grpc.Core.RpcException e) when (e.StatusCode != Grpc.Core.StatusCode.Cancelled && !ct.IsCancellationRequested)
        {
            // CRI or containerd went away before or during the exec: the client still gets a Status, not a cut socket.
            try { await session.FinishAsync(RemoteCommand.Failure($"exec in container {container} failed: {e.Status.Detail}"), ct); }
            catch (Exception f) when (f is WebSocketException or OperationCanceledException or IOException) { }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            logger.LogInformation("exec in {Ns}/{Pod}/{Container} ended early: {Error}", ns, pod, container, e.Message);
        }
    }

    /// <summary>
    /// Attach: CRI <c>Attach</c> gives a URL of containerd's stream server (the main process's stdio belongs to
    /// containerd's CRI plugin), spoken to over SPDY (<see cref="AttachStream"/>) and bridged to the client's WebSocket.
    /// </summary>
    async Task AttachAsync(System.Net.WebSockets.WebSocket socket, bool v5, string ns, string pod, string container,
        bool stdin, bool stdout, bool stderr, bool tty, CancellationToken ct)
    {
        var session = new ExecSession(socket, v5, []);
        try
        {
            var id = await RunningContainerAsync(ns, pod, container, ct);
            if (id is null)
            {
                await session.FinishAsync(RemoteCommand.Failure($"container not found (\"{container}\") running in pod {ns}/{pod}", "NotFound"), ct);
                return;
            }
            var url = (await _cri.Runtime.AttachAsync(new AttachRequest { ContainerId = id, Stdin = stdin, Stdout = stdout, Stderr = stderr && !tty, Tty = tty },
                cancellationToken: ct)).Url;
            await using var runtime = await AttachStream.ConnectAsync(new Uri(url), options.RuntimeNetns, stdin, stdout, stderr, tty, ct);
            await AttachSession.RunAsync(socket, session, runtime, ct);
        }
        catch (Grpc.Core.RpcException e) when (e.StatusCode != Grpc.Core.StatusCode.Cancelled && !ct.IsCancellationRequested)
        {
            try { await session.FinishAsync(RemoteCommand.Failure($"attach to container {container} failed: {e.Status.Detail}"), ct); }
            catch (Exception f) when (f is System.Net.WebSockets.WebSocketException or OperationCanceledException or IOException) { }
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or IOException or InvalidDataException)
        {
            logger.LogInformation("attach to {Ns}/{Pod}/{Container} failed: {Error}", ns, pod, container, e.Message);
            try { await session.FinishAsync(RemoteCommand.Failure($"attach to container {container} failed: {e.Message}"), ct); }
            catch (Exception f) when (f is System.Net.WebSockets.WebSocketException or OperationCanceledException or IOException) { }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>The running container's id: the pod's ready sandbox, then its running container of that name.</summary>
    async Task<string?> RunningContainerAsync(string ns, string pod, string container, CancellationToken ct)
    {
        var sandboxes = await _cri.Runtime.ListPodSandboxAsync(new ListPodSandboxRequest
        {
            Filter = new PodSandboxFilter
            {
                State = new PodSandboxStateValue { State = PodSandboxState.SandboxReady },
                LabelSelector = { ["io.kubernetes.pod.name"] = pod, ["io.kubernetes.pod.namespace"] = ns },
            },
        }, cancellationToken: ct);
        foreach (var sandbox in sandboxes.Items)
        {
            var containers = await _cri.Runtime.ListContainersAsync(new ListContainersRequest
            {
                Filter = new ContainerFilter
                {
                    PodSandboxId = sandbox.Id,
                    State = new ContainerStateValue { State = ContainerState.ContainerRunning },
                    LabelSelector = { [Kubelet.CriConfigs.ContainerNameLabel] = container },
                },
            }, cancellationToken: ct);
            if (containers.Containers.Count > 0) return containers.Containers[0].Id;
        }
        return null;
    }

    public void Dispose()
    {
        _cri.Dispose();
        _containerd.Dispose();
    }
}
