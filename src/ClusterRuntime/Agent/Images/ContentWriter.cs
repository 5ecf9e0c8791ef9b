// Streams one blob into containerd's content store, verified against its digest, never holding it whole in memory.
using System.Security.Cryptography;
using Appliance.ClusterRuntime.Agent.Images.Api;
using Google.Protobuf;
using Grpc.Core;

namespace Appliance.ClusterRuntime.Agent.Images;

/// <summary>Writes blobs into containerd's content store under one lease.</summary>
internal sealed class ContentWriter(ContainerdConnection containerd, string lease)
{
    /// <summary>Size of each Write message (containerd's server accepts up to 16 MiB).</summary>
    public const int ChunkSize = 1 << 20;

    readonly byte[] _buffer = new byte[ChunkSize];

    /// <summary>Whether containerd already holds the blob <paramref name="digest"/>.</summary>
    public async Task<bool> ExistsAsync(string digest, CancellationToken ct)
    {
        try
        {
            await containerd.Content.InfoAsync(new InfoRequest { Digest = digest }, containerd.Call(ct));
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>
    /// Streams <paramref name="size"/> bytes of <paramref name="source"/> into the store and returns their digest.
    /// With <paramref name="expected"/>, containerd verifies the bytes against it at commit (they are not hashed here
    /// too); without, they are hashed on the way and committed under that digest. <paramref name="first"/> is a
    /// prefix already read from the source; <paramref name="observe"/> sees every chunk.
    /// </summary>
    /// <exception cref="InvalidDataException">The source ended early, or its bytes do not match <paramref name="expected"/>.</exception>
    public async Task<string> WriteAsync(ReadOnlyMemory<byte> first, Stream source, long size, string? expected,
        Action<ReadOnlyMemory<byte>>? observe, CancellationToken ct)
    {
        var reference = "appliance-" + (expected ?? Guid.NewGuid().ToString("N"));
        await AbortLeftoverAsync(reference, ct);
        using var sha = expected is null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        using var call = containerd.Content.Write(containerd.Call(ct, lease));
        // containerd answers every message; draining the answers alongside keeps HTTP/2 flow control from stalling.
        var answers = DrainAsync(call.ResponseStream, ct);
        long offset = 0;
        string? digest = expected;
        try
        {
            first.CopyTo(_buffer);
            int filled = first.Length;
            while (offset < size || filled > 0)
            {
                while (filled < _buffer.Length && offset + filled < size)
                {
                    int n = await source.ReadAsync(_buffer.AsMemory(filled, (int)Math.Min(_buffer.Length - filled, size - offset - filled)), ct);
                    if (n == 0)
                        throw new InvalidDataException($"ends after {offset + filled} of {size} bytes");
                    filled += n;
                }
                var chunk = _buffer.AsMemory(0, filled);
                sha?.AppendData(chunk.Span);
                observe?.Invoke(chunk);
                // The message is serialized before WriteAsync returns, so the buffer can be wrapped, not copied.
                await call.RequestStream.WriteAsync(new WriteContentRequest
                {
                    Action = WriteAction.Write, Ref = reference, Total = size, Offset = offset, Data = UnsafeByteOperations.UnsafeWrap(chunk),
                }, ct);
                offset += filled;
                filled = 0;
            }
            digest ??= "sha256:" + Convert.ToHexStringLower(sha!.GetHashAndReset());
            await call.RequestStream.WriteAsync(new WriteContentRequest
            {
                Action = WriteAction.Commit, Ref = reference, Total = size, Offset = offset, Expected = digest,
            }, ct);
            await call.RequestStream.CompleteAsync();
            try
            {
                await answers;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
            {
                // A blob named only by its bytes (docker save) that another archive already brought.
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
            {
                // containerd's answer when the bytes do not match the expected digest (or size).
                throw new InvalidDataException($"content does not match its name {digest}: {e.Status.Detail}", e);
            }
            return digest;
        }
        catch (Exception e) when (answers.IsFaulted && e is not (RpcException or InvalidDataException))
        {
            // The write failed because containerd ended the call: its status says why.
            await AbortAsync(reference);
            await answers;
            throw;
        }
        catch
        {
            await AbortAsync(reference);
            throw;
        }
    }

    private async Task AbortAsync(string reference)
    {
        try { await containerd.Content.AbortAsync(new AbortRequest { Ref = reference }, containerd.Call(CancellationToken.None)); }
        catch (RpcException) { }
    }

    /// <summary>Sets labels on a committed blob (each key on its own, so other labels stay).</summary>
    public async Task SetLabelsAsync(string digest, IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        if (labels.Count == 0)
            return;
        var info = new Info { Digest = digest };
        var req = new UpdateRequest { Info = info, UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask() };
        foreach (var (k, v) in labels)
        {
            info.Labels[k] = v;
            req.UpdateMask.Paths.Add("labels." + k);
        }
        await containerd.Content.UpdateAsync(req, containerd.Call(ct));
    }

    // A write interrupted by a crash leaves its ref open; a new write to it would be refused as locked or resume
    // mid-way, so it is aborted first.
    private async Task AbortLeftoverAsync(string reference, CancellationToken ct)
    {
        try
        {
            await containerd.Content.StatusAsync(new StatusRequest { Ref = reference }, containerd.Call(ct));
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return;
        }
        await containerd.Content.AbortAsync(new AbortRequest { Ref = reference }, containerd.Call(ct));
    }

    private static async Task DrainAsync(IAsyncStreamReader<WriteContentResponse> responses, CancellationToken ct)
    {
        while (await responses.MoveNext(ct))
        {
        }
    }
}
