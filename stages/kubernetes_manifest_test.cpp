// Tests of the Kubernetes manifest a deploy stage renders, and of manifest templates.
#include "stages/kubernetes_manifest.hpp"

#include <gtest/gtest.h>

namespace sluice::stages {
namespace {

const std::string k_image = "127.0.0.1:5000/churn@sha256:" + std::string(64, 'a');

KubernetesApp app() {
    KubernetesApp a;
    a.name = "churn-staging";
    a.ns = "ml";
    a.image = k_image;
    a.replicas = 3;
    a.port = 8000;
    a.environment = "staging";
    a.health_path = "/health";
    return a;
}

TEST(KubernetesManifest, ADeploymentAndAServiceForTheImageByDigest) {
    auto list = render_manifest(app());
    EXPECT_EQ(list["kind"], "List");
    ASSERT_EQ(list["items"].size(), 2u);
    const auto& deployment = list["items"][0];
    EXPECT_EQ(deployment["apiVersion"], "apps/v1");
    EXPECT_EQ(deployment["kind"], "Deployment");
    EXPECT_EQ(deployment["metadata"]["name"], "churn-staging");
    EXPECT_EQ(deployment["metadata"]["namespace"], "ml");
    EXPECT_EQ(deployment["metadata"]["labels"]["sluice.environment"], "staging");
    EXPECT_EQ(deployment["spec"]["replicas"], 3);
    EXPECT_EQ(deployment["spec"]["selector"]["matchLabels"]["app"], "churn-staging");
    EXPECT_EQ(deployment["spec"]["template"]["metadata"]["labels"]["app"], "churn-staging");
    const auto& container = deployment["spec"]["template"]["spec"]["containers"][0];
    EXPECT_EQ(container["image"], k_image);
    EXPECT_EQ(container["ports"][0]["containerPort"], 8000);
    EXPECT_EQ(container["env"][0]["name"], "PORT");
    EXPECT_EQ(container["env"][0]["value"], "8000");
    EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"], "/health");
    const auto& service = list["items"][1];
    EXPECT_EQ(service["kind"], "Service");
    EXPECT_EQ(service["spec"]["selector"]["app"], "churn-staging");
    EXPECT_EQ(service["spec"]["ports"][0]["port"], 8000);
}

TEST(KubernetesManifest, WithoutANamespaceOrHealthPathThereIsNone) {
    auto a = app();
    a.ns = "";
    a.health_path = "";
    auto list = render_manifest(a);
    EXPECT_FALSE(list["items"][0]["metadata"].contains("namespace"));
    EXPECT_FALSE(
        list["items"][0]["spec"]["template"]["spec"]["containers"][0].contains("readinessProbe"));
}

TEST(KubernetesManifest, TemplatesGetTheirPlaceholdersFilled) {
    auto filled = fill_template("image: {{image}}\nname: {{ name }} x{{replicas}}\n",
                                template_values(app()), "k8s.yaml");
    ASSERT_TRUE(filled) << filled.error().message;
    EXPECT_EQ(*filled, "image: " + k_image + "\nname: churn-staging x3\n");
}

TEST(KubernetesManifest, AnUnknownPlaceholderIsAnErrorWhereItIs) {
    auto filled = fill_template("a: 1\nb: {{ tag }}\n", template_values(app()), "k8s.yaml");
    ASSERT_FALSE(filled);
    EXPECT_EQ(filled.error().to_string(),
              "k8s.yaml:2:4: unknown placeholder `{{ tag }}` (known: environment, image, name, "
              "namespace, port, replicas)");
    auto open = fill_template("a: {{ image\n", template_values(app()), "k8s.yaml");
    ASSERT_FALSE(open);
    EXPECT_EQ(open.error().to_string(), "k8s.yaml:1:4: `{{` without `}}` on its line");
}

TEST(KubernetesManifest, NamesAndDigests) {
    EXPECT_TRUE(is_digest_reference(k_image));
    EXPECT_FALSE(is_digest_reference("127.0.0.1:5000/churn:v1"));
    EXPECT_FALSE(is_digest_reference("churn@sha256:abc"));
    EXPECT_FALSE(is_digest_reference("@sha256:" + std::string(64, 'a')));
    EXPECT_EQ(to_dns_label("Churn_Model-staging"), "churn-model-staging");
    EXPECT_EQ(to_dns_label("--"), "app");
    EXPECT_TRUE(is_dns_label("churn-staging"));
    EXPECT_FALSE(is_dns_label("Churn"));
    EXPECT_FALSE(is_dns_label("-a"));
    EXPECT_FALSE(is_dns_label(std::string(64, 'a')));
}

}  // namespace
}  // namespace sluice::stages
