// Node passwords: the server keeps only a salted hash per node name, in a Secret in kube-system (K3s's <node>.node-password.k3s).
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Storage;

namespace Appliance.ClusterRuntime.Api.Join;

/// <summary>
/// Binds a node name to the machine that first joined with it. The first join records the password's hash; the same
/// password joins again (a reinstalled runtime that kept its data directory); a different one is refused.
/// </summary>
public sealed class NodePasswordStore(ObjectStore store)
{
    /// <summary>The namespace of the password Secrets.</summary>
    public const string Namespace = "kube-system";

    /// <summary>The Secret type of a node password.</summary>
    public const string SecretType = "appliance.io/node-password";

    static readonly ApiResource Secrets = ResourceTable.Find("", "v1", "secrets")!;

    /// <summary>The Secret holding <paramref name="node"/>'s password hash.</summary>
    public static string SecretName(string node) => node + ".node-password.appliance";

    /// <summary>Records the password on first join, accepts the same one later, and refuses another with a 403 Status.</summary>
    public async Task CheckOrRecordAsync(string node, string password, CancellationToken ct)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var (_, existing) = await store.TryGetAsync(Secrets, Namespace, SecretName(node), ct);
            if (existing is not null)
            {
                if (Matches(existing, password)) return;
                throw new ApiException(403, "Forbidden",
                    $"node password rejected: another machine already uses the node name \"{node}\" (its node password differs). " +
                    $"If that machine is gone, free the name with 'kubectl delete node {node}' and " +
                    $"'kubectl -n {Namespace} delete secret {SecretName(node)}'; otherwise give this machine another --node-name");
            }
            try
            {
                await store.CreateAsync(Secrets, Namespace, NewSecret(node, password), ct);
                return;
            }
            catch (ApiException e) when (e.Code == 409)
            {
                // Another join of the same name won the race: compare against what it recorded.
            }
        }
        throw new ApiException(409, "Conflict", $"node password for \"{node}\" changed while joining; retry");
    }

    static JsonObject NewSecret(string node, string password)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["metadata"] = new JsonObject
            {
                ["name"] = SecretName(node),
                ["namespace"] = Namespace,
            },
            ["type"] = SecretType,
            ["data"] = new JsonObject
            {
                ["salt"] = Convert.ToBase64String(salt),
                ["hash"] = Convert.ToBase64String(Hash(salt, password)),
            },
        };
    }

    static bool Matches(JsonObject secret, string password)
    {
        try
        {
            var data = secret["data"] as JsonObject;
            var salt = Convert.FromBase64String(data?["salt"]?.GetValue<string>() ?? "");
            var hash = Convert.FromBase64String(data?["hash"]?.GetValue<string>() ?? "");
            return salt.Length > 0 && CryptographicOperations.FixedTimeEquals(hash, Hash(salt, password));
        }
        catch (FormatException)
        {
            return false;
        }
    }

    // The password is 256 random bits, so a salted SHA-256 is as strong as a slow hash here.
    static byte[] Hash(byte[] salt, string password) => SHA256.HashData([.. salt, .. Encoding.UTF8.GetBytes(password)]);
}
