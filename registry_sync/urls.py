from django.urls import path

from registry_sync.api import MlflowWebhookApi

app_name = "registry_sync"
urlpatterns = [
    path("webhooks/mlflow", MlflowWebhookApi.as_view(), name="webhook-mlflow"),
]
